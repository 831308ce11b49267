import type { Provider } from "../../lib/contracts";

/*
 * The seam between the runner (queue, events, lifecycle) and the way OpenClaw is run.
 * The runner only ever talks to an AgentEngine; the OpenClaw implementation lives in
 * runtime/src/openclaw/.
 */

export interface EngineSettings {
  provider: Provider;
  model: string;
  baseUrl?: string;
  /** Absent when the user has not stored a key yet: runs then fail with missing_api_key. */
  apiKey?: string;
  runTimeoutSeconds: number;
}

export type EngineEvent =
  /** OpenClaw's pre-token phases (preparing_workspace, preparing_context, starting_model ...). */
  | { type: "phase"; phase: string }
  /** An appended chunk of the reply text (never the whole text so far). */
  | { type: "delta"; text: string }
  | {
      type: "tool";
      toolCallId: string;
      name: string;
      status: "running" | "done" | "error";
      summary?: string;
    };

export type EngineErrorCode =
  | "missing_api_key"
  | "invalid_api_key"
  | "provider_unavailable"
  | "rate_limited"
  | "run_timeout"
  | "runtime_failed"
  | "aborted";

/** A run that failed for a reason the user can act on; `message` is safe to show. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = "EngineError";
  }
}

export interface RunRequest {
  /** One OpenClaw session per conversation: `conv-<conversationId>`. */
  sessionKey: string;
  text: string;
  /** Aborting ends the run at once; run() then rejects with EngineError("aborted"). */
  signal: AbortSignal;
  onEvent: (event: EngineEvent) => void;
}

export interface AgentEngine {
  /** Starts OpenClaw and resolves when it can take a run. `onStage` reports start-up stages. */
  start(onStage?: (stage: string) => void): Promise<void>;
  /** A throw-away turn in a scratch session so the first real turn is warm. */
  warmUp(): Promise<void>;
  /** Runs one turn; resolves with the final reply text. */
  run(request: RunRequest): Promise<{ text: string }>;
  /** Rewrites OpenClaw's config (provider, model, key) without a restart where possible. */
  applySettings(settings: EngineSettings): Promise<void>;
  /** Stops OpenClaw; after it resolves, the state folder is safe to snapshot. Kills after `deadlineMs`. */
  stop(deadlineMs: number): Promise<void>;
  /**
   * Process ids of OpenClaw's processes (for memory measurement). Empty once they have
   * ended, however they ended: the runner reads an empty list as a dead engine.
   */
  pids(): number[];
}

/** How Node's ChildProcess reports the end of a child: an exit code, or the signal that killed it. */
export interface ProcessEnd {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
}

/**
 * True while a child process has not ended. A child killed by a signal (the OOM killer's
 * SIGKILL) keeps `exitCode` null and sets `signalCode` instead, so both are checked.
 */
export function isRunning(child: ProcessEnd): boolean {
  return child.exitCode === null && child.signalCode === null;
}
