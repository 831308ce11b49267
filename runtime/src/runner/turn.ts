import {
  conversationChannel,
  type Message,
  newId,
  nowIso,
  type PendingItem,
  type ToolActivity,
} from "../../../lib/contracts";
import { isAppError } from "../../../lib/errors";
import { type AgentEngine, EngineError, type EngineEvent } from "../engine";
import { ChatStream } from "./chat-stream";
import type { ActiveRun, Lookup, RunnerCore } from "./core";
import { describeError } from "./log";
import { errorEvent, finalEvent, replyMessage, runStartedEvent, runText } from "./reply";
import {
  type AbortReason,
  type AfterRunFacts,
  afterRun,
  beforeRun,
  type RunFailure,
  type TurnOutcome,
} from "./turn-outcome";

/*
 * One turn: the run of one claimed queue item. It streams the engine's events to the
 * conversation's channel, keeps the claim alive, and when the run ends hands the facts
 * to ./turn-outcome.ts and carries out what it decides (store, publish, queue).
 */

export interface TurnHooks {
  /** Looks at the queue again (after a run, the next message of its conversation may wait). */
  drain(): void;
  /** Schedules a drain (when a retry's backoff ends). */
  drainAt(when: number): void;
  /** Replaces an engine whose process died; drains once the new one is up. */
  recoverEngine(): void;
}

/** The first wait before a failed store is tried again; it doubles up to the maximum. */
const STORE_BACKOFF_MS = 200;
const STORE_BACKOFF_MAX_MS = 5_000;

export class Turns {
  constructor(
    private readonly core: RunnerCore,
    private readonly hooks: TurnHooks,
  ) {}

  /** Starts the turn of an item this runner has claimed. */
  start(item: PendingItem, lookup: Lookup): ActiveRun {
    const { core } = this;
    const run: ActiveRun = {
      item,
      runId: newId(),
      controller: new AbortController(),
      done: Promise.resolve(),
      lookup,
    };
    core.active.set(item.conversationId, run);
    core.publishStatus("busy", { conversationId: item.conversationId });
    run.done = this.execute(run)
      .catch((err) =>
        core.log("error", "run bookkeeping failed", { runId: run.runId, error: describeError(err) }),
      )
      .finally(() => {
        core.active.delete(item.conversationId);
        core.lastActivity = Date.now();
        core.lastEngineUse = Date.now();
        core.dirty = true;
        const at = nowIso();
        void core.updateRow((r) => (core.row.owns(r) ? { lastActivityAt: at, heartbeatAt: at } : undefined));
        if (core.phase === "running") {
          if (core.active.size === 0) core.publishStatus("ready");
          this.hooks.drain();
        }
      });
    return run;
  }

  private async execute(run: ActiveRun): Promise<void> {
    const { core } = this;
    const { item, runId } = run;
    const { userId, workerId, leaseMs, flushMs, maxAttempts, log } = core.opts;
    const channel = conversationChannel(userId, item.conversationId);
    const stream = new ChatStream({
      runId,
      conversationId: item.conversationId,
      publish: (events) => core.ports.publisher.publish(channel, events),
      log,
      flushMs,
    });
    const renew = setInterval(
      () => {
        core.ports.queue
          .renew(userId, item.id, workerId, new Date(Date.now() + leaseMs))
          .then((held) => {
            if (!held) {
              log("warn", "lost the claim on a queue item; abandoning its run", { runId });
              abortRun(run, "lease");
            }
          })
          .catch((err) => log("warn", "lease renewal failed", { runId, error: describeError(err) }));
      },
      Math.max(500, Math.floor(leaseMs / 3)),
    );
    const runTimeoutSeconds = core.runTimeoutSeconds();
    // The engine enforces the run timeout itself; this is the net under it.
    const watchdog = setTimeout(() => abortRun(run, "timeout"), (runTimeoutSeconds + 30) * 1000);
    let text = "";
    const tools = new Map<string, ToolActivity>();
    // The engine this run used: whether it died is asked of it, not of a replacement.
    let engine: AgentEngine | undefined;
    try {
      const lookup = await run.lookup;
      const before = beforeRun({
        replyStored: lookup.reply !== undefined,
        conversationExists: lookup.conversationExists,
        attempts: item.attempts,
        maxAttempts,
      });
      if (before) {
        await this.carryOut(run, stream, before, lookup.reply);
        return;
      }
      stream.event(runStartedEvent(runId, item));
      engine = core.engine;
      if (!engine) throw new Error("engine not started");
      log("info", "run started", { runId, conversationId: item.conversationId, attempt: item.attempts });
      const result = await engine.run({
        sessionKey: `conv-${item.conversationId}`,
        text: runText(item),
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
      const outcome = afterRun({
        ...this.runFacts(run, engine, text, [...tools.values()], runTimeoutSeconds),
        result: { ok: true, text: result.text },
      });
      await this.carryOut(run, stream, outcome);
      if (outcome.case === "completed")
        log("info", "run finished", { runId, chars: result.text.length, tools: tools.size });
    } catch (err) {
      // A failure to store or publish the outcome counts as the run's failure, as the engine's does.
      const failure: RunFailure =
        err instanceof EngineError
          ? { kind: "engine", code: err.code, message: err.message }
          : { kind: "crash" };
      const outcome = afterRun({
        ...this.runFacts(run, engine, text, [...tools.values()], runTimeoutSeconds),
        result: { ok: false, failure },
      });
      // An EngineError's text is for the user; the log keeps its code, and the first line of anything else.
      const unexpected = outcome.case === "engine_died" || failure.kind === "crash";
      log(unexpected ? "error" : "info", "run did not complete", {
        runId,
        outcome: outcome.case,
        attempt: item.attempts,
        ...(failure.kind === "engine" ? { code: failure.code } : {}),
        ...(unexpected ? { error: describeError(err) } : {}),
      });
      await this.carryOut(run, stream, outcome);
    } finally {
      clearInterval(renew);
      clearTimeout(watchdog);
      await stream.close();
    }
  }

  /** The facts of a run that has ended, but for its result. */
  private runFacts(
    run: ActiveRun,
    engine: AgentEngine | undefined,
    partial: string,
    tools: ToolActivity[],
    runTimeoutSeconds: number,
  ): Omit<AfterRunFacts, "result"> {
    const { core } = this;
    return {
      abortReason: run.abortReason,
      engineDied: engine !== undefined && engine.pids().length === 0,
      stopping: core.isStopping(),
      attempts: run.item.attempts,
      maxAttempts: core.opts.maxAttempts,
      runTimeoutSeconds,
      partial,
      tools,
    };
  }

  /**
   * Does what the outcome says, in the order that makes a crash harmless: the reply is
   * stored before it is published, and the item completed last, so a crash in between only
   * repeats the publish. `found`: the reply found stored before the run.
   */
  private async carryOut(
    run: ActiveRun,
    stream: ChatStream,
    outcome: TurnOutcome,
    found?: Message,
  ): Promise<void> {
    const { core } = this;
    const { userId, workerId } = core.opts;
    const { item, runId } = run;
    const { chatStore, queue } = core.ports;
    let final = found;
    if (outcome.store) {
      const message = replyMessage(item, outcome.store);
      // The answer is finished: a store that fails is retried, never the turn (its tools ran).
      const fresh = await this.persist(run, "storing the reply", () => chatStore.putMessage(userId, message));
      // Someone stored this reply first (a stop pressed as the run began stores an aborted
      // one): publish what is stored, so the live view and a reload agree.
      final = fresh
        ? message
        : ((await this.persist(run, "reading the stored reply", () =>
            chatStore.getMessage(userId, message.conversationId, message.id),
          )) ?? message);
      if (!(await this.touchOrDrop(run, message.createdAt))) return;
    }
    const { publish } = outcome;
    if (publish.event === "final" && final) stream.event(finalEvent(runId, final));
    else if (publish.event === "error") stream.event(errorEvent(runId, item, publish));
    await stream.close();
    const q = outcome.queue;
    switch (q.do) {
      case "complete":
        // Were this to fail for good, the next attempt would find the reply stored and publish it again.
        await this.persist(run, "completing the item", () => queue.complete(userId, item.id, workerId));
        return;
      case "expire":
        // Renewed to now: claimable at once by the next runtime, and the claim made counts.
        await queue.renew(userId, item.id, workerId, new Date());
        core.log("info", "run interrupted by shutdown; item handed back", { runId, attempt: item.attempts });
        return;
      case "remove":
        core.log("info", "dropping a queue item of a deleted conversation", { itemId: item.id });
        await queue.remove(userId, item.id);
        return;
      case "leave":
        return;
      case "retry": {
        const retryAt = Date.now() + q.afterMs;
        await queue.renew(userId, item.id, workerId, new Date(retryAt));
        if (q.restartEngine) this.hooks.recoverEngine();
        // Claimable again once its lease runs out, whether or not a restart came first.
        this.hooks.drainAt(retryAt + 250);
        return;
      }
    }
  }

  /**
   * Runs a store operation of a turn whose outcome is decided, retrying what may pass (an
   * outage, throttling, a dropped connection) with backoff for up to `storeRetryMs`, while
   * the turn's timer keeps renewing the claim. An AppError is the store's own answer and is
   * not retried; nor is anything once the claim is lost (the holder answers the item).
   */
  private async persist<T>(run: ActiveRun, what: string, op: () => Promise<T>): Promise<T> {
    const { storeRetryMs, log } = this.core.opts;
    const giveUpAt = Date.now() + storeRetryMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const delay = Math.min(STORE_BACKOFF_MAX_MS, STORE_BACKOFF_MS * 2 ** (attempt - 1));
        if (isAppError(err) || run.abortReason === "lease" || Date.now() + delay > giveUpAt) throw err;
        log("warn", `${what} failed; retrying`, { runId: run.runId, attempt, error: describeError(err) });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Moves the conversation up in the list after a reply was stored. False when the
   * conversation was deleted during the run, or is being deleted: the delete may already
   * have looked for its messages, so what the run stored is removed here (finishing the
   * delete) and the item is completed, with nothing published.
   */
  private async touchOrDrop(run: ActiveRun, at: string): Promise<boolean> {
    const { core } = this;
    const { userId, workerId, log } = core.opts;
    const { conversationId } = run.item;
    try {
      await core.ports.chatStore.updateConversation(userId, conversationId, { updatedAt: at });
      return true;
    } catch (err) {
      if (!isAppError(err) || err.code !== "not_found") {
        log("warn", "could not touch the conversation", { error: describeError(err) });
        return true;
      }
    }
    log("info", "the conversation was deleted during the run; its reply is removed", { runId: run.runId });
    await core.ports.chatStore.deleteConversation(userId, conversationId);
    await core.ports.queue.complete(userId, run.item.id, workerId);
    return false;
  }
}

/** Aborts a run's engine call; the first reason given is the one that counts. */
export function abortRun(run: ActiveRun, reason: AbortReason): void {
  run.abortReason ??= reason;
  run.controller.abort();
}
