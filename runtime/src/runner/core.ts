import {
  type ChatEvent,
  type Message,
  nowIso,
  type PendingItem,
  type RuntimeState,
  statusChannel,
  type TaskState,
} from "../../../lib/contracts";
import type { AgentEngine } from "../engine";
import { describeError, type Logger } from "./log";
import type { ResolvedOptions, RunnerPorts, StartTimings } from "./options";
import type { LoadedSettings } from "./settings";
import { StateSync, stateBlobPrefix } from "./state-sync";
import { TaskRow } from "./task-row";
import type { AbortReason } from "./turn-outcome";

/*
 * What every part of the runner shares: its phase, the engine, the user's settings, the
 * runs in progress, the task-state row and the state folder's sync, and the few helpers
 * they all use (row writes in order, status events in order, timers that shutdown clears).
 */

export type Phase = "new" | "starting" | "running" | "stopping" | "stopped";

/** The stored reply (if any), and whether the conversation exists, read alongside the claim. */
export type Lookup = Promise<{ reply?: Message; conversationExists: boolean }>;

export interface ActiveRun {
  item: PendingItem;
  runId: string;
  controller: AbortController;
  abortReason?: AbortReason;
  done: Promise<void>;
  lookup: Lookup;
}

export class RunnerCore {
  phase: Phase = "new";
  engine: AgentEngine | undefined;
  loaded: LoadedSettings | undefined;
  readonly active = new Map<string, ActiveRun>();
  readonly row: TaskRow;
  readonly sync: StateSync;
  /** A wake-up arrived during start-up: work is waiting, so the warm-up turn is skipped. */
  wakeSeen = false;
  /** OpenClaw's state changed since the last upload. */
  dirty = false;
  /** The last run's end (or the start): what the idle timeout counts from. */
  lastActivity = Date.now();
  /** When the engine last finished a turn (a run or a warm-up). */
  lastEngineUse = Date.now();
  /** When the current start (or engine restart) began; timings count from it. */
  startedAt = 0;
  /**
   * What the user's "waking up" clock counts from: the launch (the row's startedAt, set
   * when the runtime was asked for), or an engine restart; never this process's own start,
   * which would set the clock back at the first stage.
   */
  wakeSince: string | undefined;
  readonly timings: StartTimings = {};
  private readonly timers = new Set<NodeJS.Timeout>();
  private statusChain: Promise<void> = Promise.resolve();
  private rowChain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly ports: RunnerPorts,
    readonly opts: ResolvedOptions,
  ) {
    this.row = new TaskRow(ports.taskStates, opts.userId, opts.taskRef);
    this.sync = new StateSync({
      blobs: ports.blobs,
      prefix: stateBlobPrefix(opts.userId),
      dir: opts.stateDir,
      scratchDir: opts.scratchDir,
      log: opts.log,
      secrets: () => [this.loaded?.engine.apiKey],
    });
  }

  get log(): Logger {
    return this.opts.log;
  }

  isStopping(): boolean {
    return this.phase === "stopping" || this.phase === "stopped";
  }

  /** The engine is up (running) but its process has ended: it must be replaced before the next turn. */
  engineDead(): boolean {
    return this.phase === "running" && this.engine !== undefined && this.engine.pids().length === 0;
  }

  idleTimeoutMs(): number {
    return this.opts.idleTimeoutMs ?? (this.loaded?.settings.idleTimeoutMinutes ?? 15) * 60_000;
  }

  runTimeoutSeconds(): number {
    return this.loaded?.settings.runTimeoutSeconds ?? 600;
  }

  /** Runs `fn` every `ms` until shutdown clears the timers. */
  every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => void fn(), ms);
    this.timers.add(t);
  }

  clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }

  /** Row writes go one at a time so a heartbeat and a stage update never race each other. */
  updateRow(change: Parameters<TaskRow["update"]>[0]): Promise<TaskState | undefined> {
    const next = this.rowChain.then(() => this.row.update(change));
    this.rowChain = next.catch((err) =>
      this.log("warn", "task-state write failed", { error: describeError(err) }),
    );
    return next;
  }

  /** Status events go out in order; a failed one is logged, never thrown. */
  publishStatus(
    state: RuntimeState,
    extra: { stage?: string; since?: string; conversationId?: string } = {},
  ): void {
    const event: ChatEvent = { type: "status", at: nowIso(), state, ...extra };
    this.statusChain = this.statusChain
      .then(() => this.ports.publisher.publish(statusChannel(this.opts.userId), [event]))
      .catch((err) => this.log("warn", "status publish failed", { state, error: describeError(err) }));
  }

  /** Waits (at most `ms`) for the status events published so far. */
  async flushStatus(ms: number): Promise<void> {
    await withTimeout(this.statusChain, ms);
  }

  /** Records a start-up milestone (the first time only). */
  mark(name: string): void {
    this.timings[name] ??= Date.now() - this.startedAt;
  }

  /** A start-up stage: logged, and while starting, shown to the user and written to the row. */
  stage(stage: string): void {
    this.mark(`stage:${stage}`);
    this.log("info", "start-up stage", { stage, ms: Date.now() - this.startedAt });
    if (this.phase !== "starting") return;
    this.publishStatus("waking", { stage, since: this.wakeSince ?? new Date(this.startedAt).toISOString() });
    void this.updateRow((r) => (this.row.owns(r) ? { stage, heartbeatAt: nowIso() } : undefined));
  }
}

/** `promise`'s value, or undefined once `ms` have passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
