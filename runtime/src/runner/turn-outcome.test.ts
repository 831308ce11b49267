import { describe, expect, it } from "vitest";
import type { RunErrorCode, ToolActivity } from "../../../lib/contracts";
import {
  type AfterRunFacts,
  afterRun,
  type BeforeRunFacts,
  beforeRun,
  RETRY_BACKOFF_MS,
  type RunFailure,
  TEXT,
  type TurnOutcome,
} from "./turn-outcome";

/*
 * The failure matrix of a turn, one row per case: the facts a turn gathers, and what it
 * must store, publish and do with the queue item. Each row states the whole outcome.
 */

const tools: ToolActivity[] = [{ toolCallId: "call-1", name: "read", status: "done", summary: "3 lines" }];
const partial = "Half an ans";

function before(f: Partial<BeforeRunFacts> = {}): BeforeRunFacts {
  return { replyStored: false, conversationExists: true, attempts: 1, maxAttempts: 3, ...f };
}

function after(f: Partial<AfterRunFacts> = {}): AfterRunFacts {
  return {
    result: { ok: true, text: "The whole answer." },
    engineDied: false,
    stopping: false,
    attempts: 1,
    maxAttempts: 3,
    runTimeoutSeconds: 120,
    partial,
    tools,
    ...f,
  };
}

const failedWith = (failure: RunFailure): AfterRunFacts["result"] => ({ ok: false, failure });
const engineError = (code: Extract<RunFailure, { kind: "engine" }>["code"], message = "Engine says no.") =>
  failedWith({ kind: "engine", code, message });
const crash = failedWith({ kind: "crash" });

/** An error reply: stored, published as an error event, the item completed. */
function errorReply(
  kase: TurnOutcome["case"],
  code: RunErrorCode,
  message: string,
  content = partial,
  withTools = tools,
): TurnOutcome {
  return {
    case: kase,
    store: { status: "error", content, tools: withTools, error: { code, message } },
    publish: { event: "error", code, message },
    queue: { do: "complete" },
  };
}

const nothingAnd = (kase: TurnOutcome["case"], queue: TurnOutcome["queue"]): TurnOutcome => ({
  case: kase,
  publish: { event: "none" },
  queue,
});

const stoppedReply: TurnOutcome = {
  case: "aborted",
  store: { status: "aborted", content: partial, tools, error: { code: "aborted", message: TEXT.stopped } },
  publish: { event: "final" },
  queue: { do: "complete" },
};

describe("before the engine runs", () => {
  const rows: [string, BeforeRunFacts, TurnOutcome | undefined][] = [
    ["nothing stands in the way: run it", before(), undefined],
    ["the last allowed attempt still runs", before({ attempts: 3 }), undefined],
    [
      "existing reply found: publish it, complete the item",
      before({ replyStored: true }),
      { case: "answered_before", publish: { event: "final" }, queue: { do: "complete" } },
    ],
    [
      "an existing reply wins over a deleted conversation",
      before({ replyStored: true, conversationExists: false }),
      { case: "answered_before", publish: { event: "final" }, queue: { do: "complete" } },
    ],
    [
      "conversation deleted: remove the item, nothing stored or published",
      before({ conversationExists: false }),
      nothingAnd("conversation_gone", { do: "remove" }),
    ],
    [
      "a deleted conversation wins over too many attempts",
      before({ conversationExists: false, attempts: 4 }),
      nothingAnd("conversation_gone", { do: "remove" }),
    ],
    [
      "attempts over max before start: an error reply instead of a run",
      before({ attempts: 4, maxAttempts: 3 }),
      errorReply("over_attempts", "runtime_failed", TEXT.overAttempts(3), "", []),
    ],
  ];
  it.each(rows)("%s", (_name, facts, expected) => {
    expect(beforeRun(facts)).toEqual(expected);
  });
});

describe("after the engine's run ended", () => {
  const rows: [string, AfterRunFacts, TurnOutcome][] = [
    [
      "completed: store the reply, publish it, complete the item",
      after(),
      {
        case: "completed",
        store: { status: "complete", content: "The whole answer.", tools },
        publish: { event: "final" },
        queue: { do: "complete" },
      },
    ],
    [
      "completed while a stop raced it: the reply is kept",
      after({ abortReason: "user" }),
      {
        case: "completed",
        store: { status: "complete", content: "The whole answer.", tools },
        publish: { event: "final" },
        queue: { do: "complete" },
      },
    ],
    [
      "completed after the claim was lost: nothing, the holder answers",
      after({ abortReason: "lease" }),
      nothingAnd("lease_lost", { do: "leave" }),
    ],
    [
      "user abort: store what was said as aborted, publish it, complete",
      after({ abortReason: "user", result: engineError("aborted") }),
      stoppedReply,
    ],
    [
      "user abort wins over a dead engine",
      after({ abortReason: "user", result: engineError("aborted"), engineDied: true }),
      stoppedReply,
    ],
    [
      "shutdown abort: publish why, store nothing, hand the item back with its attempt counted",
      after({ abortReason: "shutdown", result: engineError("aborted"), stopping: true }),
      {
        case: "shutdown",
        publish: { event: "error", code: "aborted", message: TEXT.shutdown },
        queue: { do: "expire" },
      },
    ],
    [
      "lease lost: nothing stored or published, the item left to its holder",
      after({ abortReason: "lease", result: engineError("aborted") }),
      nothingAnd("lease_lost", { do: "leave" }),
    ],
    [
      "lease lost wins over a crash",
      after({ abortReason: "lease", result: crash, attempts: 3 }),
      nothingAnd("lease_lost", { do: "leave" }),
    ],
    [
      "timeout: an error reply naming the run timeout",
      after({ abortReason: "timeout", result: engineError("aborted") }),
      errorReply("timeout", "run_timeout", TEXT.timeout(120)),
    ],
    [
      "an abort the engine reports by itself is a stop",
      after({ result: engineError("aborted") }),
      stoppedReply,
    ],
    [
      "engine died with attempts left: restart it, retry after a backoff, keeping the claim",
      after({
        result: engineError("runtime_failed", "The agent process stopped unexpectedly."),
        engineDied: true,
      }),
      nothingAnd("engine_died", { do: "retry", afterMs: RETRY_BACKOFF_MS, restartEngine: true }),
    ],
    [
      "engine died on the last attempt: its error is the reply",
      after({
        result: engineError("runtime_failed", "The agent process stopped unexpectedly."),
        engineDied: true,
        attempts: 3,
      }),
      errorReply("engine_error", "runtime_failed", "The agent process stopped unexpectedly."),
    ],
    [
      "engine died while the runtime stops: not restarted, its error is the reply",
      after({ result: engineError("runtime_failed", "Gone."), engineDied: true, stopping: true }),
      errorReply("engine_error", "runtime_failed", "Gone."),
    ],
    [
      "EngineError: its code and text are stored and published, the item completed",
      after({ result: engineError("provider_unavailable", "The model provider answered 500.") }),
      errorReply("engine_error", "provider_unavailable", "The model provider answered 500."),
    ],
    [
      "EngineError on the last attempt is the same",
      after({ result: engineError("missing_api_key", "Add an API key in Settings."), attempts: 3 }),
      errorReply("engine_error", "missing_api_key", "Add an API key in Settings."),
    ],
    [
      "crash with attempts left: retry after a backoff that grows with the attempts",
      after({ result: crash, attempts: 2 }),
      nothingAnd("crash_retry", { do: "retry", afterMs: RETRY_BACKOFF_MS * 2, restartEngine: false }),
    ],
    [
      "crash at max attempts: an internal-error reply",
      after({ result: crash, attempts: 3 }),
      errorReply("crash_gave_up", "runtime_failed", TEXT.crashed),
    ],
    [
      "a crash that took the engine down, on the last attempt: an internal-error reply",
      after({ result: crash, engineDied: true, attempts: 3 }),
      errorReply("crash_gave_up", "runtime_failed", TEXT.crashed),
    ],
  ];
  it.each(rows)("%s", (_name, facts, expected) => {
    expect(afterRun(facts)).toEqual(expected);
  });
});

describe("the texts a person reads", () => {
  it("name the run timeout and the attempts", () => {
    expect(TEXT.timeout(120)).toContain("longer than 120 s");
    expect(TEXT.overAttempts(3)).toContain("stopped 3 times");
  });
});
