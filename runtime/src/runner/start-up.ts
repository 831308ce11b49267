import { agentChannel, type ChatEvent, conversationChannel, isStale, nowIso } from "../../../lib/contracts";
import type { Subscription } from "../../../lib/ports";
import { EngineError } from "../engine";
import type { RunnerCore } from "./core";
import { describeError } from "./log";
import { loadEngineSettings } from "./settings";

/*
 * Start-up: take the task-state row, restore OpenClaw's state, subscribe to the agent
 * channel and load the settings (the three at once), start the engine, warm it up unless
 * work is waiting, and report ready. Also the restart of an engine whose process died.
 */

export interface StartUpHooks {
  /** Receives every event on the user's agent channel. */
  onAgentEvent(raw: unknown): void;
  /** Starts the heartbeat (from the moment the row is taken). */
  startHeartbeat(): void;
  /** Starts the timers of a runtime that is ready (poll, idle, sync, keep-warm). */
  startHousekeeping(): void;
  drain(): void;
}

/**
 * Resolves when the runtime is ready, or early when a stop was requested meanwhile. The
 * subscription is handed over as soon as it exists, so that shutdown can close it even
 * when a later step fails.
 */
export async function startUp(
  core: RunnerCore,
  hooks: StartUpHooks,
  onSubscribed: (s: Subscription) => void,
): Promise<void> {
  const { log, userId, stoppingWaitMs } = core.opts;
  const row = await core.row.waitWhileStopping(stoppingWaitMs);
  if (row.status === "Stopping")
    log(
      "warn",
      isStale(row, Date.now())
        ? "previous runtime died while stopping; taking over its row"
        : "previous runtime still stopping; starting anyway",
    );
  const now = nowIso();
  const taken = await core.row.update((r) => ({
    status: "Starting",
    taskRef: core.row.taskRef ?? r.taskRef,
    startedAt: r.status === "Idle" || !r.startedAt ? now : r.startedAt,
    heartbeatAt: now,
    stage: "restoring",
  }));
  if (taken) core.row.adopt(taken);
  core.wakeSince = taken?.startedAt;
  hooks.startHeartbeat();
  core.stage("restoring");

  await core.sync.prepareDir();
  const [restored, subscribed, settings] = await Promise.allSettled([
    core.sync.restore().then((r) => {
      core.mark("restored");
      log("info", "state restored", { files: r.files, bytes: r.bytes });
    }),
    core.ports.subscriber
      .subscribe(agentChannel(userId), (e) => hooks.onAgentEvent(e))
      .then((s) => {
        core.mark("subscribed");
        onSubscribed(s);
      }),
    loadEngineSettings(core.ports.settingsStore, core.ports.secrets, userId).then((s) => {
      core.mark("settings");
      return s;
    }),
  ]);
  for (const r of [restored, subscribed, settings]) if (r.status === "rejected") throw r.reason;
  if (settings.status !== "fulfilled") throw new Error("unreachable");
  core.loaded = settings.value;
  if (core.isStopping()) return;

  core.stage("starting_openclaw");
  const engine = core.opts.createEngine(core.loaded.engine);
  core.engine = engine;
  await engine.start((s) => core.stage(s));
  core.mark("engine_started");
  if (core.isStopping()) return;

  // The warm-up turn absorbs OpenClaw's lazy first-turn initialisation; when a user
  // message is already waiting, that message pays it instead of waiting behind a throw-away turn.
  const queued = await core.ports.queue.list(userId);
  if (queued.length === 0 && !core.wakeSeen) {
    core.stage("warming");
    try {
      await engine.warmUp();
      core.mark("warmed");
    } catch (err) {
      log("warn", "warm-up turn failed", { error: describeError(err) });
    }
  } else {
    log("info", "skipping the warm-up turn: work is queued", { queued: queued.length });
  }
  if (core.isStopping()) return;

  core.phase = "running";
  core.lastActivity = Date.now();
  const ready = nowIso();
  await core.updateRow((r) =>
    core.row.owns(r)
      ? { status: "Running", stage: "ready", heartbeatAt: ready, lastActivityAt: ready }
      : undefined,
  );
  core.mark("ready");
  log("info", "runtime ready", { ...core.timings });
  core.publishStatus("ready");
  hooks.startHousekeeping();
  hooks.drain();
}

/** An engine that dies more often than this in one runtime stops the runtime. */
const MAX_ENGINE_RESTARTS = 3;

/**
 * Replaces an engine whose process died. Runs that were in progress have renewed their
 * claims for a short while, so they are retried once the new engine is up. An engine that
 * keeps dying stops the runtime (exit code 1); the next message starts a new one.
 */
export class EngineRecovery {
  private recovering: Promise<void> | undefined;
  private restarts = 0;

  constructor(
    private readonly core: RunnerCore,
    private readonly hooks: {
      drain(): void;
      stop(reason: string, opts: { exitCode: number }): Promise<void>;
    },
  ) {}

  /** Restarts the engine unless a restart is under way or already replaced it. */
  recover(): Promise<void> {
    if (this.recovering) return this.recovering;
    if (this.core.phase === "running" && !this.core.engineDead()) {
      // A turn that ran on the dead engine asks after the heartbeat or a drain has replaced it.
      this.hooks.drain();
      return Promise.resolve();
    }
    this.recovering = this.restart().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async restart(): Promise<void> {
    const { core } = this;
    if (core.isStopping()) return;
    this.restarts++;
    if (this.restarts > MAX_ENGINE_RESTARTS) {
      await this.hooks.stop("the engine kept dying", { exitCode: 1 });
      return;
    }
    core.phase = "starting";
    core.startedAt = Date.now();
    core.wakeSince = new Date(core.startedAt).toISOString();
    core.stage("restarting_openclaw");
    try {
      await core.engine?.stop(2_000).catch(() => undefined);
      if (!core.loaded) throw new Error("settings not loaded");
      const engine = core.opts.createEngine(core.loaded.engine);
      core.engine = engine;
      await engine.start((s) => core.stage(s));
      if (core.isStopping()) return;
      core.phase = "running";
      core.publishStatus("ready");
      core.log("info", "engine restarted", { ms: Date.now() - core.startedAt });
      this.hooks.drain();
    } catch (err) {
      if (core.isStopping()) return;
      core.log("error", "could not restart the engine", { error: describeError(err) });
      await notifyQueuedOfStartFailure(core, err);
      await this.hooks.stop("engine restart failed", { exitCode: 1 });
    }
  }
}

/** Tells every waiting message's conversation that the agent could not start (the messages stay queued). */
export async function notifyQueuedOfStartFailure(core: RunnerCore, err: unknown): Promise<void> {
  const { userId } = core.opts;
  const detail = err instanceof EngineError ? ` (${err.message})` : "";
  try {
    const queued = await core.ports.queue.list(userId);
    await Promise.all(
      queued.map((item) => {
        const event: ChatEvent = {
          type: "error",
          at: nowIso(),
          conversationId: item.conversationId,
          replyTo: item.messageId,
          code: "runtime_failed",
          message: `The agent could not start${detail}. Your message is kept and will be answered when the agent starts again: reload the page or send another message to retry.`,
        };
        return core.ports.publisher.publish(conversationChannel(userId, item.conversationId), [event]);
      }),
    );
  } catch (e) {
    core.log("warn", "could not report the start-up failure", { error: describeError(e) });
  }
}
