import type { AgentEngine, EngineEvent, EngineSettings, ProcessEnd, RunRequest } from "../engine";
import { EngineError, isRunning } from "../engine";

/*
 * A scriptable AgentEngine for the runner's tests: the runner's seam, not a model of
 * OpenClaw.
 */

export type FakeStep =
  | { delta: string }
  | { phase: string }
  | { tool: { toolCallId: string; name: string; status: "running" | "done" | "error"; summary?: string } }
  | { wait: number }
  | { fail: Error };

export interface FakeRun {
  sessionKey: string;
  text: string;
  startedAt: number;
  endedAt?: number;
  outcome?: "done" | "aborted" | "failed";
}

/**
 * A scriptable AgentEngine: the runner's seam, not a model of OpenClaw. Each run plays the
 * steps `script` returns for it; a wait ends at once with EngineError("aborted") when the
 * run's signal aborts. The reply is the concatenated deltas.
 */
export class FakeEngine implements AgentEngine {
  readonly runs: FakeRun[] = [];
  readonly settings: EngineSettings[] = [];
  warmUps = 0;
  startCalls = 0;
  stopCalls = 0;
  startDelayMs = 0;
  /**
   * The stand-in for OpenClaw's child process while started: how it ended, as Node reports
   * it, and whether its IPC channel is open (what the real engine sends runs over).
   */
  private process: (ProcessEnd & { connected: boolean }) | undefined;
  private readonly inFlight = new Set<AbortController>();
  failStart: Error | undefined;
  /** Called at start(), e.g. to look at the restored state folder. */
  onStart: (() => void | Promise<void>) | undefined;
  script: (text: string) => FakeStep[] = (text) => [
    { phase: "preparing_context" },
    { delta: `echo: ${text}` },
  ];

  constructor(initial?: EngineSettings) {
    if (initial) this.settings.push(initial);
  }

  async start(onStage?: (stage: string) => void): Promise<void> {
    this.startCalls++;
    onStage?.("engine_booting");
    await new Promise((r) => setTimeout(r, this.startDelayMs));
    if (this.failStart) throw this.failStart;
    await this.onStart?.();
    this.process = { exitCode: null, signalCode: null, connected: true };
  }

  async warmUp(): Promise<void> {
    this.warmUps++;
  }

  async run(request: RunRequest): Promise<{ text: string }> {
    const run: FakeRun = { sessionKey: request.sessionKey, text: request.text, startedAt: Date.now() };
    this.runs.push(run);
    if (!this.process?.connected) throw new EngineError("runtime_failed", "The agent is not running.");
    const crash = new AbortController();
    this.inFlight.add(crash);
    const signal = AbortSignal.any([request.signal, crash.signal]);
    let text = "";
    try {
      for (const step of this.script(request.text)) {
        if (crash.signal.aborted) throw crash.signal.reason;
        if (request.signal.aborted) throw new EngineError("aborted", "aborted");
        if ("delta" in step) {
          text += step.delta;
          request.onEvent({ type: "delta", text: step.delta });
        } else if ("phase" in step) request.onEvent({ type: "phase", phase: step.phase });
        else if ("tool" in step) request.onEvent({ type: "tool", ...step.tool } satisfies EngineEvent);
        else if ("wait" in step) {
          await abortableSleep(step.wait, signal).catch((err) => {
            throw crash.signal.aborted ? crash.signal.reason : err;
          });
        } else throw step.fail;
      }
      run.outcome = "done";
      return { text };
    } catch (err) {
      run.outcome = err instanceof EngineError && err.code === "aborted" ? "aborted" : "failed";
      throw err;
    } finally {
      run.endedAt = Date.now();
      this.inFlight.delete(crash);
    }
  }

  async applySettings(settings: EngineSettings): Promise<void> {
    this.settings.push(settings);
  }

  async stop(_deadlineMs: number): Promise<void> {
    this.stopCalls++;
    this.process = undefined;
  }

  /**
   * Like OpenClaw's process dying: runs in progress fail and new ones are refused. It exits
   * with a code (1 by default), or is killed by a signal (`{ signal: "SIGKILL" }`, the OOM
   * killer), which Node reports differently.
   */
  crash(how: { code: number } | { signal: NodeJS.Signals } = { code: 1 }): void {
    if (!this.process) return;
    this.process = {
      exitCode: "code" in how ? how.code : null,
      signalCode: "signal" in how ? how.signal : null,
      connected: false,
    };
    for (const c of this.inFlight)
      c.abort(new EngineError("runtime_failed", "The agent process stopped unexpectedly."));
  }

  /** What the real engine does: the child's pid while it has not ended. */
  pids(): number[] {
    return this.process && isRunning(this.process) ? [process.pid] : [];
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new EngineError("aborted", "aborted"));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EngineError("aborted", "aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
