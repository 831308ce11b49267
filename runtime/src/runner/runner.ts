import {
  type AgentEvent,
  agentChannel,
  agentEventSchema,
  type ChatEvent,
  conversationChannel,
  isStale,
  LEASE,
  MAX_EVENT_BYTES,
  type Message,
  newId,
  nowIso,
  type PendingItem,
  type RunErrorCode,
  type RuntimeState,
  statusChannel,
  type TaskState,
  type ToolActivity,
} from "../../../lib/contracts";
import { isAppError } from "../../../lib/errors";
import type {
  BlobStore,
  ChatStore,
  EventPublisher,
  EventSubscriber,
  PendingQueue,
  SecretStore,
  SettingsStore,
  Subscription,
  TaskStateStore,
} from "../../../lib/ports";
import { type AgentEngine, EngineError, type EngineEvent, type EngineSettings } from "../engine";
import { ChatStream } from "./chat-stream";
import { describeError, type Logger } from "./log";
import { type LoadedSettings, loadEngineSettings, replyIdFor } from "./settings";
import { StateSync, stateBlobPrefix } from "./state-sync";
import { TaskRow } from "./task-row";

/*
 * The runner serves one user: it restores OpenClaw's state, starts the engine, takes
 * work from the durable pending queue, streams each run to the conversation's channel,
 * stores the reply, keeps the task-state row current, and stops itself when idle or told
 * to. It only ever talks to OpenClaw through the AgentEngine seam.
 */

/** What the runner uses of the adapters (lib's Adapters, by the same names). */
export interface RunnerPorts {
  chatStore: ChatStore;
  settingsStore: SettingsStore;
  taskStates: TaskStateStore;
  queue: PendingQueue;
  blobs: BlobStore;
  secrets: SecretStore;
  publisher: EventPublisher;
  subscriber: EventSubscriber;
}

export interface RunnerOptions {
  userId: string;
  /** Identifies this process in queue claims. */
  workerId: string;
  /** `local:<pid>` or the ECS task ARN, when known. */
  taskRef?: string;
  /** OpenClaw's state folder, restored from and synced to the blob store. */
  stateDir: string;
  /** Scratch folder for SQLite snapshots (outside stateDir). */
  scratchDir: string;
  /** Builds the engine once settings are known (the engine owns OpenClaw's config file). */
  createEngine: (settings: EngineSettings) => AgentEngine;
  log: Logger;
  /** Safety poll of the queue when no wake-up arrives. Default 30 s. */
  pollMs?: number;
  /** Default: the lease's (LEASE.heartbeatMs). */
  heartbeatMs?: number;
  /** Queue claim lease, renewed every third of it during a run. Default 60 s. */
  leaseMs?: number;
  /** Periodic state upload while there was activity. Default 5 min. */
  syncMs?: number;
  /** Overrides the idle timeout from the user's settings. */
  idleTimeoutMs?: number;
  /** Budget of a graceful stop. Default 25 s. */
  shutdownMs?: number;
  maxConcurrentRuns?: number;
  /** A message whose run crashed the runtime this many times gets an error reply instead. */
  maxAttempts?: number;
  flushMs?: number;
  /** How long a start waits for a previous runtime that is still Stopping. Default: the lease's. */
  stoppingWaitMs?: number;
  /**
   * While no run is active, a prepare-only warm-up turn (no model call) this long after the
   * engine was last used. OpenClaw retires several worker threads after 60 s idle, and the
   * next turn then pays about 4 s to start them again (docs/perf-notes.md). Default 45 s;
   * 0 turns it off. Keeping warm is not activity: it does not delay the idle stop.
   */
  keepWarmMs?: number;
}

export interface StopResult {
  reason: string;
  exitCode: number;
}

type AbortReason = "user" | "shutdown" | "lease" | "timeout";

interface ActiveRun {
  item: PendingItem;
  runId: string;
  controller: AbortController;
  abortReason?: AbortReason;
  done: Promise<void>;
  /** The stored reply (if any), and whether the conversation exists, read during the claim. */
  lookup: Promise<{ reply?: Message; conversationExists: boolean }>;
}

type Phase = "new" | "starting" | "running" | "stopping" | "stopped";

/** Start-up milestones in ms since start() (for logs and the cold-start benchmark). */
export type StartTimings = Record<string, number>;

const RETRY_BACKOFF_MS = 2_000;
const MAX_ENGINE_RESTARTS = 3;

export class Runner {
  private phase: Phase = "new";
  private engine: AgentEngine | undefined;
  private loaded: LoadedSettings | undefined;
  private subscription: Subscription | undefined;
  private readonly active = new Map<string, ActiveRun>();
  private readonly row: TaskRow;
  private readonly sync: StateSync;
  private readonly timers = new Set<NodeJS.Timeout>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private draining = false;
  private drainAgain = false;
  private wakeSeen = false;
  private dirty = false;
  private lastActivity = Date.now();
  /** When the engine last finished a turn (a run or a warm-up). */
  private lastEngineUse = Date.now();
  private keepingWarm = false;
  private startedAt = 0;
  private statusChain: Promise<void> = Promise.resolve();
  private rowChain: Promise<unknown> = Promise.resolve();
  private stopPromise: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private engineRestarts = 0;
  private resolveStopped!: (result: StopResult) => void;
  /** Resolves once the runner has stopped, whatever stopped it. */
  readonly stopped: Promise<StopResult>;
  readonly timings: StartTimings = {};

  private readonly o: Required<
    Pick<
      RunnerOptions,
      | "pollMs"
      | "heartbeatMs"
      | "leaseMs"
      | "syncMs"
      | "shutdownMs"
      | "maxConcurrentRuns"
      | "maxAttempts"
      | "flushMs"
      | "stoppingWaitMs"
      | "keepWarmMs"
    >
  >;

  constructor(
    private readonly ports: RunnerPorts,
    private readonly opts: RunnerOptions,
  ) {
    this.o = {
      pollMs: opts.pollMs ?? 30_000,
      heartbeatMs: opts.heartbeatMs ?? LEASE.heartbeatMs,
      leaseMs: opts.leaseMs ?? 60_000,
      syncMs: opts.syncMs ?? 300_000,
      shutdownMs: opts.shutdownMs ?? 25_000,
      maxConcurrentRuns: opts.maxConcurrentRuns ?? 3,
      maxAttempts: opts.maxAttempts ?? 3,
      flushMs: opts.flushMs ?? 80,
      stoppingWaitMs: opts.stoppingWaitMs ?? LEASE.stoppingWaitMs,
      keepWarmMs: opts.keepWarmMs ?? 45_000,
    };
    this.row = new TaskRow(ports.taskStates, opts.userId, opts.taskRef);
    this.sync = new StateSync({
      blobs: ports.blobs,
      prefix: stateBlobPrefix(opts.userId),
      dir: opts.stateDir,
      scratchDir: opts.scratchDir,
      log: opts.log,
      secrets: () => [this.loaded?.engine.apiKey],
    });
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  get state(): Phase {
    return this.phase;
  }

  /**
   * Restores state, starts the engine and begins draining the queue. Resolves when the
   * runtime is ready, or when a stop was requested during start-up. On a start-up
   * failure the runner stops (row Idle, exit code 1) and start() rejects.
   */
  async start(): Promise<void> {
    if (this.phase !== "new") throw new Error("the runner was already started");
    this.phase = "starting";
    this.startedAt = Date.now();
    try {
      await this.startUp();
    } catch (err) {
      if (this.isStopping()) return;
      this.opts.log("error", "start-up failed", { error: describeError(err) });
      await this.notifyQueuedOfStartFailure(err);
      await this.stop("start-up failed", { exitCode: 1 });
      throw err;
    }
  }

  /** Graceful stop; idempotent. `releaseRow: false` when another runtime has taken over. */
  stop(reason: string, opts: { exitCode?: number; releaseRow?: boolean } = {}): Promise<void> {
    this.stopPromise ??= this.shutdown(reason, opts.releaseRow ?? true).then(
      () => this.resolveStopped({ reason, exitCode: opts.exitCode ?? 0 }),
      (err) => {
        this.opts.log("error", "shutdown failed", { error: describeError(err) });
        this.resolveStopped({ reason, exitCode: 1 });
      },
    );
    return this.stopPromise;
  }

  /** Looks at the queue now (after a reconnect of the realtime connection, when wake-ups may have been lost). */
  wake(): void {
    void this.drain();
  }

  // ---------------------------------------------------------------- start-up

  private async startUp(): Promise<void> {
    const { log } = this.opts;
    const row = await this.row.waitWhileStopping(this.o.stoppingWaitMs);
    if (row.status === "Stopping")
      log(
        "warn",
        isStale(row, Date.now())
          ? "previous runtime died while stopping; taking over its row"
          : "previous runtime still stopping; starting anyway",
      );
    const now = nowIso();
    const taken = await this.row.update((r) => ({
      status: "Starting",
      taskRef: this.row.taskRef ?? r.taskRef,
      startedAt: r.status === "Idle" || !r.startedAt ? now : r.startedAt,
      heartbeatAt: now,
      stage: "restoring",
    }));
    if (taken) this.row.adopt(taken);
    this.every(this.o.heartbeatMs, () => this.heartbeat());
    this.stage("restoring");

    await this.sync.prepareDir();
    const [restored, subscribed, settings] = await Promise.allSettled([
      this.sync.restore().then((r) => {
        this.mark("restored");
        log("info", "state restored", { files: r.files, bytes: r.bytes });
      }),
      this.ports.subscriber
        .subscribe(agentChannel(this.opts.userId), (e) => this.onAgentEvent(e))
        .then((s) => {
          this.mark("subscribed");
          return s;
        }),
      loadEngineSettings(this.ports.settingsStore, this.ports.secrets, this.opts.userId).then((s) => {
        this.mark("settings");
        return s;
      }),
    ]);
    if (subscribed.status === "fulfilled") this.subscription = subscribed.value;
    for (const r of [restored, subscribed, settings]) if (r.status === "rejected") throw r.reason;
    if (settings.status !== "fulfilled") throw new Error("unreachable");
    this.loaded = settings.value;
    if (this.isStopping()) return;

    this.stage("starting_openclaw");
    const engine = this.opts.createEngine(this.loaded.engine);
    this.engine = engine;
    await engine.start((s) => this.stage(s));
    this.mark("engine_started");
    if (this.isStopping()) return;

    // The warm-up turn absorbs OpenClaw's lazy first-turn initialisation; when a user
    // message is already waiting, that message pays it instead of waiting behind a throw-away turn.
    const queued = await this.ports.queue.list(this.opts.userId);
    if (queued.length === 0 && !this.wakeSeen) {
      this.stage("warming");
      try {
        await engine.warmUp();
        this.mark("warmed");
      } catch (err) {
        log("warn", "warm-up turn failed", { error: describeError(err) });
      }
    } else {
      log("info", "skipping the warm-up turn: work is queued", { queued: queued.length });
    }
    if (this.isStopping()) return;

    this.phase = "running";
    this.lastActivity = Date.now();
    const ready = nowIso();
    await this.updateRow((r) =>
      this.row.owns(r)
        ? { status: "Running", stage: "ready", heartbeatAt: ready, lastActivityAt: ready }
        : undefined,
    );
    this.mark("ready");
    log("info", "runtime ready", { ...this.timings });
    this.publishStatus("ready");
    this.every(this.o.pollMs, () => this.drain());
    this.every(Math.min(5_000, Math.max(250, Math.floor(this.idleTimeoutMs() / 4))), () => this.checkIdle());
    this.every(this.o.syncMs, () => this.periodicSync());
    if (this.o.keepWarmMs > 0) {
      this.lastEngineUse = Date.now();
      this.every(Math.max(100, Math.min(5_000, Math.floor(this.o.keepWarmMs / 3))), () => this.keepWarm());
    }
    void this.drain();
  }

  private stage(stage: string): void {
    this.mark(`stage:${stage}`);
    this.opts.log("info", "start-up stage", { stage, ms: Date.now() - this.startedAt });
    if (this.phase !== "starting") return;
    this.publishStatus("waking", { stage, since: new Date(this.startedAt).toISOString() });
    void this.updateRow((r) => (this.row.owns(r) ? { stage, heartbeatAt: nowIso() } : undefined));
  }

  private mark(name: string): void {
    this.timings[name] ??= Date.now() - this.startedAt;
  }

  private async notifyQueuedOfStartFailure(err: unknown): Promise<void> {
    const detail = err instanceof EngineError ? ` (${err.message})` : "";
    try {
      const queued = await this.ports.queue.list(this.opts.userId);
      await Promise.all(
        queued.map((item) =>
          this.ports.publisher.publish(conversationChannel(this.opts.userId, item.conversationId), [
            {
              type: "error",
              at: nowIso(),
              conversationId: item.conversationId,
              replyTo: item.messageId,
              code: "runtime_failed",
              message: `The agent could not start${detail}. Your message is kept and will be answered when the agent starts again: reload the page or send another message to retry.`,
            },
          ]),
        ),
      );
    } catch (e) {
      this.opts.log("warn", "could not report the start-up failure", { error: describeError(e) });
    }
  }

  // ---------------------------------------------------------------- agent channel

  private onAgentEvent(raw: unknown): void {
    const parsed = agentEventSchema.safeParse(raw);
    if (!parsed.success) {
      this.opts.log("warn", "ignoring a malformed agent event");
      return;
    }
    const event: AgentEvent = parsed.data;
    this.opts.log("debug", "agent event", { type: event.type });
    switch (event.type) {
      case "wake":
        this.wakeSeen = true;
        void this.drain();
        return;
      case "abort": {
        const run = this.active.get(event.conversationId);
        if (run) this.abortRun(run, "user");
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
    try {
      const loaded = await loadEngineSettings(this.ports.settingsStore, this.ports.secrets, this.opts.userId);
      await this.engine?.applySettings(loaded.engine);
      this.loaded = loaded;
      this.dirty = true;
      await this.updateRow((r) =>
        this.row.owns(r) ? { idleTimeoutMinutes: loaded.settings.idleTimeoutMinutes } : undefined,
      );
      this.opts.log("info", "settings applied", {
        provider: loaded.engine.provider,
        hasKey: !!loaded.engine.apiKey,
      });
    } catch (err) {
      this.opts.log("error", "could not apply new settings", { error: describeError(err) });
    }
  }

  // ---------------------------------------------------------------- queue

  /** Claims the oldest item of every conversation that has no run in progress. */
  private async drain(): Promise<void> {
    if (this.phase !== "running") return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain && this.phase === "running");
    } catch (err) {
      this.opts.log("warn", "draining the queue failed", { error: describeError(err) });
    } finally {
      this.draining = false;
    }
  }

  private async drainOnce(): Promise<void> {
    const { userId, workerId } = this.opts;
    const items = await this.ports.queue.list(userId);
    const heads = new Map<string, PendingItem>();
    for (const item of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
      if (!heads.has(item.conversationId)) heads.set(item.conversationId, item);
    let nextLeaseExpiry = Number.POSITIVE_INFINITY;
    for (const head of heads.values()) {
      if (this.phase !== "running" || this.active.size >= this.o.maxConcurrentRuns) break;
      if (this.active.has(head.conversationId)) continue;
      const leaseUntil = head.leaseUntil ? Date.parse(head.leaseUntil) : 0;
      if (head.claimedBy && head.claimedBy !== this.opts.workerId && leaseUntil > Date.now()) {
        // Another (probably dead) worker holds it; its lease expiry is when to look again.
        nextLeaseExpiry = Math.min(nextLeaseExpiry, leaseUntil);
        continue;
      }
      // What the run reads first does not depend on the claim: read it during the claim, as it
      // all stands between the user and the first token. The reply is stored put-once, so a
      // reply stored by another worker after this read still cannot be stored twice.
      const lookup = this.lookup(head);
      lookup.catch(() => undefined); // a failed read surfaces in the run; unclaimed, it is moot
      const claimed = await this.ports.queue.claim(
        userId,
        head.id,
        workerId,
        new Date(Date.now() + this.o.leaseMs),
      );
      if (!claimed) continue;
      if (this.phase === "running" && !this.active.has(claimed.conversationId)) {
        this.startRun(claimed, lookup);
      } else await this.ports.queue.release(userId, claimed.id, workerId);
    }
    if (Number.isFinite(nextLeaseExpiry)) this.drainAt(nextLeaseExpiry + 250);
  }

  /** Schedules one extra drain; an earlier one already scheduled wins. */
  private drainAt(when: number): void {
    if (this.retryTimer && this.retryAt <= when) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = when;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void this.drain();
      },
      Math.max(0, when - Date.now()),
    );
  }

  // ---------------------------------------------------------------- runs

  /** One read for both: it stands between the user and the first token. */
  private async lookup(item: PendingItem): ActiveRun["lookup"] {
    const { conversation, message } = await this.ports.chatStore.getConversationAndMessage(
      this.opts.userId,
      item.conversationId,
      replyIdFor(item.messageId),
    );
    return { ...(message ? { reply: message } : {}), conversationExists: conversation !== undefined };
  }

  private startRun(item: PendingItem, lookup: ActiveRun["lookup"]): ActiveRun {
    const run: ActiveRun = {
      item,
      runId: newId(),
      controller: new AbortController(),
      done: Promise.resolve(),
      lookup,
    };
    this.active.set(item.conversationId, run);
    this.publishStatus("busy", { conversationId: item.conversationId });
    run.done = this.execute(run)
      .catch((err) =>
        this.opts.log("error", "run bookkeeping failed", { runId: run.runId, error: describeError(err) }),
      )
      .finally(() => {
        this.active.delete(item.conversationId);
        this.lastActivity = Date.now();
        this.lastEngineUse = Date.now();
        this.dirty = true;
        const at = nowIso();
        void this.updateRow((r) => (this.row.owns(r) ? { lastActivityAt: at, heartbeatAt: at } : undefined));
        if (this.phase === "running") {
          if (this.active.size === 0) this.publishStatus("ready");
          void this.drain();
        }
      });
    return run;
  }

  private abortRun(run: ActiveRun, reason: AbortReason): void {
    run.abortReason ??= reason;
    run.controller.abort();
  }

  private async execute(run: ActiveRun): Promise<void> {
    const { item, runId } = run;
    const { userId, workerId, log } = this.opts;
    const replyId = replyIdFor(item.messageId);
    const channel = conversationChannel(userId, item.conversationId);
    const stream = new ChatStream({
      runId,
      conversationId: item.conversationId,
      publish: (events) => this.ports.publisher.publish(channel, events),
      log,
      flushMs: this.o.flushMs,
    });
    const renew = setInterval(
      () => {
        this.ports.queue
          .renew(userId, item.id, workerId, new Date(Date.now() + this.o.leaseMs))
          .then((held) => {
            if (!held) {
              log("warn", "lost the claim on a queue item; abandoning its run", { runId });
              this.abortRun(run, "lease");
            }
          })
          .catch((err) => log("warn", "lease renewal failed", { runId, error: describeError(err) }));
      },
      Math.max(500, Math.floor(this.o.leaseMs / 3)),
    );
    const runTimeoutMs = (this.loaded?.settings.runTimeoutSeconds ?? 600) * 1000;
    // The engine enforces the run timeout itself; this is the net under it.
    const watchdog = setTimeout(() => this.abortRun(run, "timeout"), runTimeoutMs + 30_000);
    let text = "";
    const tools = new Map<string, ToolActivity>();
    try {
      const { reply: existing, conversationExists } = await run.lookup;
      if (existing) {
        // A previous attempt stored the reply and died before completing the item.
        stream.event(fitFinalEvent({ type: "final", at: nowIso(), runId, message: existing }));
        await stream.close();
        await this.ports.queue.complete(userId, item.id, workerId);
        return;
      }
      if (!conversationExists) {
        log("info", "dropping a queue item of a deleted conversation", { itemId: item.id });
        await this.ports.queue.remove(userId, item.id);
        return;
      }
      if (item.attempts > this.o.maxAttempts) {
        await this.finishWithError(run, stream, replyId, "", [], {
          code: "runtime_failed",
          message: `The agent stopped ${this.o.maxAttempts} times while answering this message, so it was skipped. Try rephrasing it or splitting it into smaller requests.`,
        });
        return;
      }
      stream.event({
        type: "run.started",
        at: nowIso(),
        runId,
        conversationId: item.conversationId,
        replyTo: item.messageId,
      });
      const engine = this.engine;
      if (!engine) throw new Error("engine not started");
      log("info", "run started", { runId, conversationId: item.conversationId, attempt: item.attempts });
      const result = await engine.run({
        sessionKey: `conv-${item.conversationId}`,
        text: item.text,
        signal: run.controller.signal,
        onEvent: (e: EngineEvent) => {
          if (e.type === "delta") {
            text += e.text;
            stream.delta(e.text);
          } else if (e.type === "phase") {
            stream.event({ type: "run.phase", at: nowIso(), runId, phase: e.phase.slice(0, 100) });
          } else {
            const tool: ToolActivity = {
              toolCallId: e.toolCallId.slice(0, 200),
              name: e.name.slice(0, 200),
              status: e.status,
              summary: e.summary?.slice(0, 2_000),
            };
            tools.set(tool.toolCallId, tool);
            stream.event({ type: "tool", at: nowIso(), runId, tool });
          }
        },
      });
      // A reply that completed is kept even if a stop raced it; only a lost claim discards it.
      if (run.abortReason === "lease") return;
      const message: Message = {
        id: replyId,
        conversationId: item.conversationId,
        role: "assistant",
        content: result.text,
        status: "complete",
        createdAt: nowIso(),
        replyTo: item.messageId,
        source: item.source,
        ...(tools.size > 0 ? { tools: [...tools.values()] } : {}),
      };
      await this.storeAndFinish(run, stream, message);
      log("info", "run finished", { runId, chars: result.text.length, tools: tools.size });
    } catch (err) {
      await this.handleRunFailure(run, stream, replyId, text, [...tools.values()], err);
    } finally {
      clearInterval(renew);
      clearTimeout(watchdog);
      await stream.close();
    }
  }

  private async handleRunFailure(
    run: ActiveRun,
    stream: ChatStream,
    replyId: string,
    partial: string,
    tools: ToolActivity[],
    err: unknown,
  ): Promise<void> {
    const { item, runId } = run;
    const { userId, workerId, log } = this.opts;
    const reason = run.abortReason;
    // Not this runner's item (any more): whoever holds it answers it.
    if (reason === "lease") return;
    if (reason === "shutdown") {
      // Nothing is stored: the message goes back to the queue and the next start answers it.
      stream.event({
        type: "error",
        at: nowIso(),
        runId,
        conversationId: item.conversationId,
        replyTo: item.messageId,
        code: "aborted",
        message:
          "The agent was stopped while answering. Your message is kept and will be answered when the agent starts again.",
      });
      await stream.close();
      await this.ports.queue.release(userId, item.id, workerId);
      log("info", "run interrupted by shutdown; item released", { runId });
      return;
    }
    if (reason === "user" || (err instanceof EngineError && err.code === "aborted" && reason !== "timeout")) {
      const message: Message = {
        id: replyId,
        conversationId: item.conversationId,
        role: "assistant",
        content: partial,
        status: "aborted",
        createdAt: nowIso(),
        replyTo: item.messageId,
        source: item.source,
        error: { code: "aborted", message: "Stopped." },
        ...(tools.length > 0 ? { tools } : {}),
      };
      await this.storeAndFinish(run, stream, message);
      log("info", "run aborted", { runId });
      return;
    }
    if (reason === "timeout") {
      const seconds = this.loaded?.settings.runTimeoutSeconds ?? 600;
      await this.finishWithError(run, stream, replyId, partial, tools, {
        code: "run_timeout",
        message: `The agent took longer than ${seconds} s and was stopped. Raise the run timeout in Settings or ask for something smaller.`,
      });
      return;
    }
    const engineDied = this.engine !== undefined && this.engine.pids().length === 0 && !this.isStopping();
    if (engineDied && item.attempts < this.o.maxAttempts) {
      // OpenClaw's process is gone: start a new one and retry this message (another attempt).
      log("error", "the engine died during a run; restarting it", { runId, error: describeError(err) });
      const retryAt = Date.now() + RETRY_BACKOFF_MS;
      await this.ports.queue.renew(userId, item.id, workerId, new Date(retryAt));
      void this.recoverEngine();
      return;
    }
    if (err instanceof EngineError) {
      log("info", "run failed", { runId, code: err.code });
      await this.finishWithError(run, stream, replyId, partial, tools, {
        code: err.code,
        message: err.message,
      });
      return;
    }
    log("error", "run crashed", { runId, attempt: item.attempts, error: describeError(err) });
    if (item.attempts < this.o.maxAttempts) {
      // Keep the claim but let it expire soon: the retry counts as another attempt, which
      // release() would give back.
      const retryAt = Date.now() + RETRY_BACKOFF_MS * item.attempts;
      await this.ports.queue.renew(userId, item.id, workerId, new Date(retryAt));
      this.drainAt(retryAt + 250);
      return;
    }
    await this.finishWithError(run, stream, replyId, partial, tools, {
      code: "runtime_failed",
      message:
        "The agent failed while answering (an internal error). Try again; if it keeps happening, check the runtime logs.",
    });
  }

  private async finishWithError(
    run: ActiveRun,
    stream: ChatStream,
    replyId: string,
    partial: string,
    tools: ToolActivity[],
    error: { code: RunErrorCode; message: string },
  ): Promise<void> {
    const { item, runId } = run;
    const message: Message = {
      id: replyId,
      conversationId: item.conversationId,
      role: "assistant",
      content: partial,
      status: "error",
      createdAt: nowIso(),
      replyTo: item.messageId,
      source: item.source,
      error,
      ...(tools.length > 0 ? { tools } : {}),
    };
    const event: ChatEvent = {
      type: "error",
      at: nowIso(),
      runId,
      conversationId: item.conversationId,
      replyTo: item.messageId,
      code: error.code,
      message: error.message.slice(0, 1_000),
    };
    await this.ports.chatStore.putMessage(this.opts.userId, message);
    if (!(await this.touchOrDrop(run, message.createdAt))) return;
    stream.event(event);
    await stream.close();
    await this.ports.queue.complete(this.opts.userId, item.id, this.opts.workerId);
  }

  /**
   * Moves the conversation up in the list after a reply was stored. False when the
   * conversation was deleted during the run, or is being deleted: the delete may already
   * have looked for its messages, so what the run stored is removed here (finishing the
   * delete) and the item is completed, with nothing published.
   */
  private async touchOrDrop(run: ActiveRun, at: string): Promise<boolean> {
    const { userId, workerId, log } = this.opts;
    const { conversationId } = run.item;
    try {
      await this.ports.chatStore.updateConversation(userId, conversationId, { updatedAt: at });
      return true;
    } catch (err) {
      if (!isAppError(err) || err.code !== "not_found") {
        log("warn", "could not touch the conversation", { error: describeError(err) });
        return true;
      }
    }
    log("info", "the conversation was deleted during the run; its reply is removed", { runId: run.runId });
    await this.ports.chatStore.deleteConversation(userId, conversationId);
    await this.ports.queue.complete(userId, run.item.id, workerId);
    return false;
  }

  /** Stores the reply, publishes it, then completes the item: a crash in between only repeats the publish. */
  private async storeAndFinish(run: ActiveRun, stream: ChatStream, message: Message): Promise<void> {
    const { userId, workerId } = this.opts;
    const fresh = await this.ports.chatStore.putMessage(userId, message);
    // Someone stored this reply first (a stop pressed as the run began stores an aborted
    // one): publish what is stored, so the live view and a reload agree.
    const stored = fresh
      ? message
      : ((await this.ports.chatStore.getMessage(userId, message.conversationId, message.id)) ?? message);
    if (!(await this.touchOrDrop(run, message.createdAt))) return;
    stream.event(fitFinalEvent({ type: "final", at: nowIso(), runId: run.runId, message: stored }));
    await stream.close();
    await this.ports.queue.complete(userId, run.item.id, workerId);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Replaces an engine whose process died. Runs that were in progress have renewed their
   * claims for a short while, so they are retried once the new engine is up. An engine
   * that keeps dying stops the runtime (exit code 1); the next message starts a new one.
   */
  private recoverEngine(): Promise<void> {
    this.recovering ??= (async () => {
      const { log } = this.opts;
      this.engineRestarts++;
      if (this.engineRestarts > MAX_ENGINE_RESTARTS) {
        await this.stop("the engine kept dying", { exitCode: 1 });
        return;
      }
      this.phase = "starting";
      this.startedAt = Date.now();
      this.stage("restarting_openclaw");
      try {
        await this.engine?.stop(2_000).catch(() => undefined);
        if (!this.loaded) throw new Error("settings not loaded");
        const engine = this.opts.createEngine(this.loaded.engine);
        this.engine = engine;
        await engine.start((s) => this.stage(s));
        if (this.isStopping()) return;
        this.phase = "running";
        this.publishStatus("ready");
        log("info", "engine restarted", { ms: Date.now() - this.startedAt });
        void this.drain();
      } catch (err) {
        if (this.isStopping()) return;
        log("error", "could not restart the engine", { error: describeError(err) });
        await this.notifyQueuedOfStartFailure(err);
        await this.stop("engine restart failed", { exitCode: 1 });
      }
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private idleTimeoutMs(): number {
    return this.opts.idleTimeoutMs ?? (this.loaded?.settings.idleTimeoutMinutes ?? 15) * 60_000;
  }

  private async checkIdle(): Promise<void> {
    if (this.phase !== "running" || this.active.size > 0 || this.draining) return;
    if (Date.now() - this.lastActivity < this.idleTimeoutMs()) return;
    const queued = await this.ports.queue.list(this.opts.userId).catch(() => undefined);
    if (queued === undefined) return;
    if (queued.length > 0) {
      void this.drain();
      return;
    }
    if (this.phase !== "running" || this.active.size > 0) return;
    this.opts.log("info", "idle timeout reached", { idleMs: Date.now() - this.lastActivity });
    void this.stop("idle");
  }

  /** A prepare-only turn when the engine has been unused for keepWarmMs (see RunnerOptions). */
  private async keepWarm(): Promise<void> {
    const engine = this.engine;
    if (!engine || this.phase !== "running" || this.keepingWarm) return;
    if (this.active.size > 0 || this.draining || Date.now() - this.lastEngineUse < this.o.keepWarmMs) return;
    this.keepingWarm = true;
    try {
      await engine.warmUp();
    } catch (err) {
      this.opts.log("warn", "keep-warm turn failed", { error: describeError(err) });
    } finally {
      this.keepingWarm = false;
      this.lastEngineUse = Date.now();
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.isStopping()) return;
    try {
      const row = await this.updateRow((r) => (this.row.owns(r) ? { heartbeatAt: nowIso() } : undefined));
      if (!row && !this.isStopping()) {
        this.opts.log("warn", "another runtime took over this user's row; stopping");
        void this.stop("superseded", { releaseRow: false });
      }
    } catch (err) {
      this.opts.log("warn", "heartbeat failed", { error: describeError(err) });
    }
  }

  private async periodicSync(): Promise<void> {
    if (!this.dirty || this.phase !== "running") return;
    this.dirty = false;
    try {
      const began = Date.now();
      const r = await this.sync.sync();
      this.opts.log("info", "state synced", { ...r, ms: Date.now() - began });
    } catch (err) {
      this.dirty = true;
      this.opts.log("warn", "state sync failed", { error: describeError(err) });
    }
  }

  private async shutdown(reason: string, releaseRow: boolean): Promise<void> {
    const { log } = this.opts;
    const deadline = Date.now() + this.o.shutdownMs;
    const remaining = () => deadline - Date.now();
    this.phase = "stopping";
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    log("info", "stopping", { reason, activeRuns: this.active.size });
    this.publishStatus("stopping");
    if (releaseRow) {
      await this.updateRow((r) =>
        this.row.owns(r)
          ? { status: "Stopping", stage: reason.slice(0, 100), heartbeatAt: nowIso() }
          : undefined,
      ).catch((err) => log("warn", "could not mark the row Stopping", { error: describeError(err) }));
    }

    if (this.active.size > 0) {
      // Let a turn that is nearly done finish; abort the rest, their messages stay queued.
      const runs = () => Promise.all([...this.active.values()].map((r) => r.done));
      const grace = reason === "idle" ? 0 : Math.floor(this.o.shutdownMs * 0.4);
      await withTimeout(runs(), grace);
      for (const run of this.active.values()) this.abortRun(run, "shutdown");
      await withTimeout(runs(), 3_000);
    }

    await this.subscription
      ?.close()
      .catch((err) => log("warn", "could not close the subscription", { error: describeError(err) }));
    if (this.engine) {
      const budget = Math.max(1_000, Math.min(8_000, remaining() - 8_000));
      const began = Date.now();
      await this.engine
        .stop(budget)
        .catch((err) => log("warn", "engine stop failed", { error: describeError(err) }));
      log("info", "engine stopped", { ms: Date.now() - began });
    }
    if (this.sync.isRestored) {
      try {
        const began = Date.now();
        const r = await withTimeout(this.sync.sync(), Math.max(1_000, remaining() - 2_000));
        if (r) log("info", "final state sync", { ...r, ms: Date.now() - began });
        else log("warn", "final state sync did not finish in time");
      } catch (err) {
        log("error", "final state sync failed", { error: describeError(err) });
      }
    }
    if (releaseRow) {
      const at = nowIso();
      await this.updateRow((r) =>
        this.row.owns(r)
          ? {
              status: "Idle",
              taskRef: undefined,
              stage: undefined,
              heartbeatAt: at,
              lastActivityAt: new Date(this.lastActivity).toISOString(),
            }
          : undefined,
      ).catch((err) => log("warn", "could not mark the row Idle", { error: describeError(err) }));
      this.publishStatus("asleep");
    }
    await withTimeout(this.statusChain, 2_000);
    this.phase = "stopped";
    log("info", "stopped", { reason });
  }

  // ---------------------------------------------------------------- helpers

  private isStopping(): boolean {
    return this.phase === "stopping" || this.phase === "stopped";
  }

  private every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => void fn(), ms);
    this.timers.add(t);
  }

  /** Row writes go one at a time so a heartbeat and a stage update never race each other. */
  private updateRow(change: Parameters<TaskRow["update"]>[0]): Promise<TaskState | undefined> {
    const next = this.rowChain.then(() => this.row.update(change));
    this.rowChain = next.catch((err) =>
      this.opts.log("warn", "task-state write failed", { error: describeError(err) }),
    );
    return next;
  }

  private publishStatus(
    state: RuntimeState,
    extra: { stage?: string; since?: string; conversationId?: string } = {},
  ): void {
    const event: ChatEvent = { type: "status", at: nowIso(), state, ...extra };
    this.statusChain = this.statusChain
      .then(() => this.ports.publisher.publish(statusChannel(this.opts.userId), [event]))
      .catch((err) => this.opts.log("warn", "status publish failed", { state, error: describeError(err) }));
  }
}

/** What a final event says in place of the text that did not fit. */
export const TRUNCATED_NOTE =
  "\n\n[…] This reply is longer than a live update can carry; reload the conversation to see all of it.";

/**
 * A final event must fit AppSync's 240 KB per event. A longer reply is stored whole; the
 * live event carries its beginning and a note (the streamed deltas had all of it anyway).
 */
export function fitFinalEvent(
  event: Extract<ChatEvent, { type: "final" }>,
): Extract<ChatEvent, { type: "final" }> {
  const limit = MAX_EVENT_BYTES - 2_048;
  const size = (e: ChatEvent) => Buffer.byteLength(JSON.stringify(e));
  if (size(event) <= limit) return event;
  let message = { ...event.message, tools: event.message.tools?.map(({ summary: _s, ...t }) => t) };
  let content = message.content;
  while (size({ ...event, message }) > limit && content.length > 0) {
    content = content.slice(0, Math.floor(content.length * 0.8));
    message = { ...message, content: content + TRUNCATED_NOTE };
  }
  return { ...event, message };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
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
