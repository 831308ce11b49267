import { agentEventSchema } from "../../../lib/contracts";
import type { Subscription } from "../../../lib/ports";
import { type Phase, RunnerCore } from "./core";
import { Housekeeping } from "./housekeeping";
import { describeError } from "./log";
import { type RunnerOptions, type RunnerPorts, resolveOptions, type StopResult } from "./options";
import { QueueDrain } from "./queue-drain";
import { loadEngineSettings } from "./settings";
import { shutdown } from "./shutdown";
import { EngineRecovery, notifyQueuedOfStartFailure, startUp } from "./start-up";
import { abortRun, Turns } from "./turn";

export type { RunnerOptions, RunnerPorts, StopResult } from "./options";

/*
 * The runner serves one user: it restores OpenClaw's state, starts the engine, takes
 * work from the durable pending queue, streams each run to the conversation's channel,
 * stores the reply, keeps the task-state row current, and stops itself when idle or told
 * to. It only ever talks to OpenClaw through the AgentEngine seam.
 *
 * This class is the runner's face and its agent-channel dispatch; the parts live beside it:
 * ./start-up.ts, ./queue-drain.ts, ./turn.ts (with the pure ./turn-outcome.ts and
 * ./reply.ts), ./housekeeping.ts and ./shutdown.ts, sharing the state in ./core.ts.
 */
export class Runner {
  private readonly core: RunnerCore;
  private readonly queue: QueueDrain;
  private readonly turns: Turns;
  private readonly housekeeping: Housekeeping;
  private readonly recovery: EngineRecovery;
  private subscription: Subscription | undefined;
  private stopPromise: Promise<void> | undefined;
  private resolveStopped!: (result: StopResult) => void;
  /** Resolves once the runner has stopped, whatever stopped it. */
  readonly stopped: Promise<StopResult>;

  constructor(ports: RunnerPorts, opts: RunnerOptions) {
    const core = new RunnerCore(ports, resolveOptions(opts));
    this.core = core;
    const drain = () => void this.queue.drain();
    this.queue = new QueueDrain(
      core,
      (item, lookup) => this.turns.start(item, lookup),
      () => void this.recovery.recover(),
    );
    this.recovery = new EngineRecovery(core, { drain, stop: (reason, o) => this.stop(reason, o) });
    this.turns = new Turns(core, {
      drain,
      drainAt: (when) => this.queue.drainAt(when),
      recoverEngine: () => void this.recovery.recover(),
    });
    this.housekeeping = new Housekeeping(core, {
      drain,
      draining: () => this.queue.busy,
      recoverEngine: () => void this.recovery.recover(),
      stop: (reason, o) => void this.stop(reason, o),
    });
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  get state(): Phase {
    return this.core.phase;
  }

  /**
   * Restores state, starts the engine and begins draining the queue. Resolves when the
   * runtime is ready, or when a stop was requested during start-up. On a start-up
   * failure the runner stops (row Idle, exit code 1) and start() rejects.
   */
  async start(): Promise<void> {
    const { core } = this;
    if (core.phase !== "new") throw new Error("the runner was already started");
    core.phase = "starting";
    core.startedAt = Date.now();
    try {
      await startUp(
        core,
        {
          onAgentEvent: (raw) => this.onAgentEvent(raw),
          startHeartbeat: () => this.housekeeping.startHeartbeat(),
          startHousekeeping: () => this.housekeeping.start(),
          drain: () => void this.queue.drain(),
        },
        (s) => {
          this.subscription = s;
        },
      );
    } catch (err) {
      if (core.isStopping()) return;
      core.log("error", "start-up failed", { error: describeError(err) });
      await notifyQueuedOfStartFailure(core, err);
      await this.stop("start-up failed", { exitCode: 1 });
      throw err;
    }
  }

  /** Graceful stop; idempotent. `releaseRow: false` when another runtime has taken over. */
  stop(reason: string, opts: { exitCode?: number; releaseRow?: boolean } = {}): Promise<void> {
    this.stopPromise ??= shutdown(this.core, reason, opts.releaseRow ?? true, {
      subscription: () => this.subscription,
      cancelDrain: () => this.queue.cancel(),
    }).then(
      () => this.resolveStopped({ reason, exitCode: opts.exitCode ?? 0 }),
      (err) => {
        this.core.log("error", "shutdown failed", { error: describeError(err) });
        this.resolveStopped({ reason, exitCode: 1 });
      },
    );
    return this.stopPromise;
  }

  /** Looks at the queue now (after a reconnect of the realtime connection, when wake-ups may have been lost). */
  wake(): void {
    void this.queue.drain();
  }

  private onAgentEvent(raw: unknown): void {
    const { core } = this;
    const parsed = agentEventSchema.safeParse(raw);
    if (!parsed.success) {
      core.log("warn", "ignoring a malformed agent event");
      return;
    }
    const event = parsed.data;
    core.log("debug", "agent event", { type: event.type });
    switch (event.type) {
      case "wake":
        // New work is queued: the drain finds it (the wake-up itself names nothing).
        core.wakeSeen = true;
        void this.queue.drain();
        return;
      case "abort": {
        const run = core.active.get(event.conversationId);
        if (run) abortRun(run, "user");
        return;
      }
      case "settings":
        void this.reloadSettings();
        return;
      case "shutdown":
        void this.stop(`shutdown requested: ${event.reason}`);
        return;
    }
  }

  private async reloadSettings(): Promise<void> {
    const { core } = this;
    try {
      const loaded = await loadEngineSettings(core.ports.settingsStore, core.ports.secrets, core.opts.userId);
      await core.engine?.applySettings(loaded.engine);
      core.loaded = loaded;
      core.dirty = true;
      await core.updateRow((r) =>
        core.row.owns(r) ? { idleTimeoutMinutes: loaded.settings.idleTimeoutMinutes } : undefined,
      );
      core.log("info", "settings applied", {
        provider: loaded.engine.provider,
        hasKey: !!loaded.engine.apiKey,
      });
    } catch (err) {
      core.log("error", "could not apply new settings", { error: describeError(err) });
    }
  }
}
