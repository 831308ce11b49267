import type { RunErrorCode, ToolActivity } from "../../../lib/contracts";
import type { EngineErrorCode } from "../engine";

/*
 * What becomes of a turn, decided from facts alone: what to store, what to publish and what
 * to do with the queue item. The turn (./turn.ts) gathers the facts and carries the
 * outcome out; nothing here touches a store, the engine or a clock. The order of the
 * checks is the policy: a lost claim wins over everything, a stop asked by the user wins
 * over the error the engine reports for it, and a dead engine is restarted before its
 * error is blamed on the message.
 */

/** Why a run's signal was aborted: the user's stop, the runtime stopping, a lost claim, the net under the run timeout. */
export type AbortReason = "user" | "shutdown" | "lease" | "timeout";

/** How a run failed: an EngineError (a reason a person can act on) or anything else (a crash). */
export type RunFailure = { kind: "engine"; code: EngineErrorCode; message: string } | { kind: "crash" };

/** What the read made alongside the claim found. */
export interface BeforeRunFacts {
  /** A reply to this message is stored already (an earlier attempt stored it, then died). */
  replyStored: boolean;
  conversationExists: boolean;
  /** Claims of this item so far, this one included. */
  attempts: number;
  maxAttempts: number;
}

export interface AfterRunFacts {
  /** The engine's answer, or how the turn failed (a failure to store a complete answer counts). */
  result: { ok: true; text: string } | { ok: false; failure: RunFailure };
  abortReason?: AbortReason;
  /** The engine's process was gone when the run ended. */
  engineDied: boolean;
  /** The runner is stopping (a dead engine is then not restarted). */
  stopping: boolean;
  attempts: number;
  maxAttempts: number;
  runTimeoutSeconds: number;
  /** What the run had streamed before it ended. */
  partial: string;
  tools: ToolActivity[];
}

export interface ReplyDraft {
  status: "complete" | "aborted" | "error";
  content: string;
  tools: ToolActivity[];
  error?: { code: RunErrorCode; message: string };
}

export type QueueAction =
  /** Answered: the item leaves the queue. */
  | { do: "complete" }
  /**
   * Back to the queue at once, this attempt counted: the claim's lease ends now, and the next
   * start answers it. A release would give the attempt back, so a run that stops its own
   * runtime (a tool that kills it) would be retried for ever instead of ending at maxAttempts.
   */
  | { do: "expire" }
  /** Its conversation is gone. */
  | { do: "remove" }
  /** Another worker holds the claim now: whoever holds it answers it. */
  | { do: "leave" }
  /**
   * Keep the claim but let it run out after `afterMs`, so the retry counts as another
   * attempt (a release would give the attempt back). `restartEngine`: start a new engine
   * first.
   */
  | { do: "retry"; afterMs: number; restartEngine: boolean };

export type Publish =
  /** The final event of the reply stored now, or of the one found stored. */
  { event: "final" } | { event: "error"; code: RunErrorCode; message: string } | { event: "none" };

/** The rows of the failure matrix, one name each (logs and tests use them). */
export type TurnCase =
  | "answered_before"
  | "conversation_gone"
  | "over_attempts"
  | "completed"
  | "lease_lost"
  | "shutdown"
  | "aborted"
  | "timeout"
  | "engine_died"
  | "engine_error"
  | "crash_retry"
  | "crash_gave_up";

export interface TurnOutcome {
  case: TurnCase;
  /** The reply to store (put-once by its id); absent: nothing is stored. */
  store?: ReplyDraft;
  publish: Publish;
  queue: QueueAction;
}

/** A crashed run is retried after this, times the attempts so far. */
export const RETRY_BACKOFF_MS = 2_000;

/** What the user reads in each case that explains itself. */
export const TEXT = {
  stopped: "Stopped.",
  shutdown:
    "The agent was stopped while answering. Your message is kept and will be answered when the agent starts again.",
  timeout: (seconds: number) =>
    `The agent took longer than ${seconds} s and was stopped. Raise the run timeout in Settings or ask for something smaller.`,
  overAttempts: (maxAttempts: number) =>
    `The agent stopped ${maxAttempts} times while answering this message, so it was skipped. Try rephrasing it or splitting it into smaller requests.`,
  crashed:
    "The agent failed while answering (an internal error). Try again; if it keeps happening, check the runtime logs.",
} as const;

/** Before the engine runs: undefined when it should run, else why it does not. */
export function beforeRun(f: BeforeRunFacts): TurnOutcome | undefined {
  if (f.replyStored) {
    return { case: "answered_before", publish: { event: "final" }, queue: { do: "complete" } };
  }
  if (!f.conversationExists) {
    return { case: "conversation_gone", publish: { event: "none" }, queue: { do: "remove" } };
  }
  if (f.attempts > f.maxAttempts) {
    return failed("over_attempts", "", [], {
      code: "runtime_failed",
      message: TEXT.overAttempts(f.maxAttempts),
    });
  }
  return undefined;
}

/** After the engine's run ended, however it ended. */
export function afterRun(f: AfterRunFacts): TurnOutcome {
  // Not this runner's item any more: whoever holds it answers it.
  if (f.abortReason === "lease")
    return { case: "lease_lost", publish: { event: "none" }, queue: { do: "leave" } };
  if (f.result.ok) {
    // A reply that completed is kept even if a stop raced it.
    return {
      case: "completed",
      store: { status: "complete", content: f.result.text, tools: f.tools },
      publish: { event: "final" },
      queue: { do: "complete" },
    };
  }
  const { failure } = f.result;
  if (f.abortReason === "shutdown") {
    // Nothing is stored: the message goes back to the queue and the next start answers it.
    return {
      case: "shutdown",
      publish: { event: "error", code: "aborted", message: TEXT.shutdown },
      queue: { do: "expire" },
    };
  }
  // The engine may report an abort nobody here asked for (OpenClaw's own stop): a stop all the same.
  const engineAborted = failure.kind === "engine" && failure.code === "aborted";
  if (f.abortReason === "user" || (engineAborted && f.abortReason !== "timeout")) {
    return {
      case: "aborted",
      store: {
        status: "aborted",
        content: f.partial,
        tools: f.tools,
        error: { code: "aborted", message: TEXT.stopped },
      },
      publish: { event: "final" },
      queue: { do: "complete" },
    };
  }
  if (f.abortReason === "timeout") {
    return failed("timeout", f.partial, f.tools, {
      code: "run_timeout",
      message: TEXT.timeout(f.runTimeoutSeconds),
    });
  }
  if (f.engineDied && !f.stopping && f.attempts < f.maxAttempts) {
    // OpenClaw's process is gone: start a new one and retry this message (another attempt).
    return {
      case: "engine_died",
      publish: { event: "none" },
      queue: { do: "retry", afterMs: RETRY_BACKOFF_MS, restartEngine: true },
    };
  }
  if (failure.kind === "engine") {
    return failed("engine_error", f.partial, f.tools, { code: failure.code, message: failure.message });
  }
  if (f.attempts < f.maxAttempts) {
    return {
      case: "crash_retry",
      publish: { event: "none" },
      queue: { do: "retry", afterMs: RETRY_BACKOFF_MS * f.attempts, restartEngine: false },
    };
  }
  return failed("crash_gave_up", f.partial, f.tools, { code: "runtime_failed", message: TEXT.crashed });
}

/** An error reply that is stored, published as an error event, and answers the item. */
function failed(
  kase: TurnCase,
  content: string,
  tools: ToolActivity[],
  error: { code: RunErrorCode; message: string },
): TurnOutcome {
  return {
    case: kase,
    store: { status: "error", content, tools, error },
    publish: { event: "error", ...error },
    queue: { do: "complete" },
  };
}
