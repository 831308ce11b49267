import { nowIso } from "../../../lib/contracts";
import type { RunnerCore } from "./core";
import { describeError } from "./log";

/*
 * What the runner does on timers: the heartbeat that keeps its lease, the safety poll of
 * the queue, the idle stop, keep-warm turns while idle, and the periodic state upload.
 */

export interface HousekeepingHooks {
  drain(): void;
  /** A drain is in progress (it may be about to start a run). */
  draining(): boolean;
  /** Replaces a dead engine (EngineRecovery). */
  recoverEngine(): void;
  stop(reason: string, opts?: { releaseRow?: boolean }): void;
}

export class Housekeeping {
  private keepingWarm = false;

  constructor(
    private readonly core: RunnerCore,
    private readonly hooks: HousekeepingHooks,
  ) {}

  /** From the moment the row is taken: a start-up that stops beating looks dead. */
  startHeartbeat(): void {
    this.core.every(this.core.opts.heartbeatMs, () => this.heartbeat());
  }

  /** Once the runtime is ready. */
  start(): void {
    const { core } = this;
    const { pollMs, syncMs, keepWarmMs } = core.opts;
    core.every(pollMs, () => this.hooks.drain());
    core.every(Math.min(5_000, Math.max(250, Math.floor(core.idleTimeoutMs() / 4))), () => this.checkIdle());
    core.every(syncMs, () => this.periodicSync());
    if (keepWarmMs > 0) {
      core.lastEngineUse = Date.now();
      core.every(Math.max(100, Math.min(5_000, Math.floor(keepWarmMs / 3))), () => this.keepWarm());
    }
  }

  private async heartbeat(): Promise<void> {
    const { core } = this;
    if (core.isStopping()) return;
    if (core.engineDead()) {
      // Noticed while no turn is running, so the status does not say ready for a dead engine.
      core.log("warn", "the engine's process has ended; restarting it");
      this.hooks.recoverEngine();
    }
    try {
      const at = nowIso();
      // A run in progress is activity: the watchdog's idle rule reads lastActivityAt, and a
      // run may last longer than the idle timeout plus its grace.
      const busy = core.active.size > 0 ? { lastActivityAt: at } : {};
      const row = await core.updateRow((r) => (core.row.owns(r) ? { heartbeatAt: at, ...busy } : undefined));
      if (!row && !core.isStopping()) {
        core.log("warn", "another runtime took over this user's row; stopping");
        this.hooks.stop("superseded", { releaseRow: false });
      }
    } catch (err) {
      core.log("warn", "heartbeat failed", { error: describeError(err) });
    }
  }

  private async checkIdle(): Promise<void> {
    const { core } = this;
    if (core.phase !== "running" || core.active.size > 0 || this.hooks.draining()) return;
    if (Date.now() - core.lastActivity < core.idleTimeoutMs()) return;
    const queued = await core.ports.queue.list(core.opts.userId).catch(() => undefined);
    if (queued === undefined) return;
    if (queued.length > 0) {
      this.hooks.drain();
      return;
    }
    if (core.phase !== "running" || core.active.size > 0) return;
    core.log("info", "idle timeout reached", { idleMs: Date.now() - core.lastActivity });
    this.hooks.stop("idle");
  }

  /** A prepare-only turn when the engine has been unused for keepWarmMs (see RunnerOptions). */
  private async keepWarm(): Promise<void> {
    const { core } = this;
    const engine = core.engine;
    if (!engine || core.phase !== "running" || this.keepingWarm) return;
    if (core.active.size > 0 || this.hooks.draining()) return;
    if (Date.now() - core.lastEngineUse < core.opts.keepWarmMs) return;
    this.keepingWarm = true;
    try {
      await engine.warmUp();
    } catch (err) {
      core.log("warn", "keep-warm turn failed", { error: describeError(err) });
    } finally {
      this.keepingWarm = false;
      core.lastEngineUse = Date.now();
    }
  }

  private async periodicSync(): Promise<void> {
    const { core } = this;
    if (!core.dirty || core.phase !== "running") return;
    core.dirty = false;
    try {
      const began = Date.now();
      const r = await core.sync.sync();
      core.log("info", "state synced", { ...r, ms: Date.now() - began });
    } catch (err) {
      core.dirty = true;
      core.log("warn", "state sync failed", { error: describeError(err) });
    }
  }
}
