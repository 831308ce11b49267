import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentChannel,
  isIdlePastGrace,
  LEASE,
  MAX_EVENT_BYTES,
  newId,
  replyIdFor,
} from "../../../lib/contracts";
import type { ChatStore, PendingQueue } from "../../../lib/ports";
import { deleteConversation } from "../../../lib/services/conversations";
import { EngineError } from "../engine";
import { FakeEngine } from "../testing/fake-engine";
import {
  userId as newUserId,
  send,
  startTestCloud,
  type TestCloud,
  testPorts,
  Watcher,
} from "../testing/test-cloud";
import { createLogger } from "./log";
import { RERUN_NOTE, TRUNCATED_NOTE } from "./reply";
import { Runner, type RunnerOptions } from "./runner";
import { stateBlobPrefix } from "./state-sync";

let tc: TestCloud;
let ports: ReturnType<typeof testPorts>;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tc = await startTestCloud();
  ports = testPorts(tc.config);
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await ports?.close();
  await tc?.close();
});

/** The text of a message's second or later run, as the engine receives it. */
const rerun = (text: string) => `${RERUN_NOTE}\n\n${text}`;

async function eventually(check: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

interface Started {
  runner: Runner;
  engine: FakeEngine;
  watcher: Watcher;
  userId: string;
  logs: string[];
}

async function startRunner(
  opts: Partial<RunnerOptions> & {
    userId?: string;
    engine?: FakeEngine;
    wait?: boolean;
    /** Wraps the runner's queue (to observe or delay its calls). */
    queue?: (q: PendingQueue) => PendingQueue;
    /** Wraps the runner's chat store (to delay its calls). */
    chats?: (c: ChatStore) => ChatStore;
  } = {},
): Promise<Started> {
  const userId = opts.userId ?? newUserId();
  const engine = opts.engine ?? new FakeEngine();
  const watcher = await new Watcher(tc.config, userId).start();
  const runnerPorts = testPorts(tc.config);
  const logs: string[] = [];
  const runner = new Runner(
    {
      ...runnerPorts,
      queue: opts.queue ? opts.queue(runnerPorts.queue) : runnerPorts.queue,
      chatStore: opts.chats ? opts.chats(runnerPorts.chatStore) : runnerPorts.chatStore,
    },
    {
      userId,
      workerId: `w-${newId().slice(-8)}`,
      taskRef: `local:${Math.floor(Math.random() * 1e6)}`,
      stateDir: join(tc.dir, "state", userId, newId().slice(-6)),
      scratchDir: join(tc.dir, "scratch"),
      createEngine: (s) => {
        engine.settings.push(s);
        return engine;
      },
      log: createLogger("debug", (l) => logs.push(l)),
      pollMs: 1_000,
      heartbeatMs: 500,
      leaseMs: 3_000,
      flushMs: 50,
      shutdownMs: 6_000,
      ...opts,
    },
  );
  closers.push(async () => {
    await runner.stop("test over");
    await runnerPorts.close();
    await watcher.close();
  });
  if (opts.wait !== false) await runner.start();
  return { runner, engine, watcher, userId, logs };
}

describe("a turn", () => {
  it("streams coalesced deltas in order, then stores and publishes the final message", async () => {
    const engine = new FakeEngine();
    const words = Array.from({ length: 120 }, (_, i) => `w${i} `);
    engine.script = () => [
      { phase: "preparing_context" },
      ...words.flatMap((w) => [{ delta: w }, { wait: 2 }]),
    ];
    const { watcher, userId, runner } = await startRunner({ engine });
    expect(engine.warmUps).toBe(1);
    await watcher.until((e) => e.some((x) => x.type === "status" && x.state === "ready"), 10_000, "ready");

    const { conversationId, messageId } = await send(ports, userId, "hello");
    await watcher.until((e) => e.some((x) => x.type === "final"), 15_000, "final");

    const started = watcher.of("run.started");
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ conversationId, replyTo: messageId });
    expect(watcher.of("run.phase").map((p) => p.phase)).toEqual(["preparing_context"]);
    const deltas = watcher.of("delta");
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.text).join("")).toBe(words.join(""));
    // 120 chunks over ~300 ms become a handful of events, not one per chunk.
    expect(deltas.length).toBeLessThan(40);

    const final = watcher.finalFor(messageId);
    expect(final).toMatchObject({
      id: replyIdFor(messageId),
      role: "assistant",
      status: "complete",
      content: words.join(""),
    });
    const stored = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
    expect(stored?.content).toBe(words.join(""));
    expect(engine.runs[0]).toMatchObject({ sessionKey: `conv-${conversationId}`, text: "hello" });

    // The item is gone, and the statuses went waking → ready → busy → ready.
    await watcher.until((e) => e.filter((x) => x.type === "status" && x.state === "ready").length >= 2);
    expect(await ports.queue.list(userId)).toEqual([]);
    const states = watcher.statuses();
    expect(states[0]).toBe("waking");
    expect(states.slice(states.indexOf("ready"))).toEqual(["ready", "busy", "ready"]);
    const row = await ports.taskStates.get(userId);
    expect(row).toMatchObject({ status: "Running", stage: "ready" });
    expect(runner.state).toBe("running");
  });

  it("publishes the first text of a run at once and coalesces only what follows", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ delta: "a" }, { delta: "b" }, { wait: 30 }, { delta: "c" }];
    // A window longer than the run: only the first delta may go out before the run ends.
    const { watcher, userId } = await startRunner({ engine, flushMs: 60_000 });
    const { messageId } = await send(ports, userId, "hi");
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(watcher.of("delta").map((d) => [d.seq, d.text])).toEqual([
      [0, "a"],
      [1, "bc"],
    ]);
    const order = watcher.events
      .filter((e) => e.type !== "status" && e.type !== "message")
      .map((e) => e.type);
    expect(order).toEqual(["run.started", "delta", "delta", "final"]);
    expect(watcher.finalFor(messageId)?.content).toBe("abc");
  });

  it("publishes tool activity and keeps it on the stored message", async () => {
    const engine = new FakeEngine();
    engine.script = () => [
      { delta: "Let me look. " },
      { tool: { toolCallId: "call-1", name: "read", status: "running", summary: "README.md" } },
      { tool: { toolCallId: "call-1", name: "read", status: "done", summary: "42 lines" } },
      { delta: "It has 42 lines." },
    ];
    const { watcher, userId } = await startRunner({ engine });
    const { messageId } = await send(ports, userId, "count lines");
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    const order = watcher.events
      .filter((e) => e.type === "delta" || e.type === "tool")
      .map((e) => (e.type === "tool" ? `tool:${e.tool.status}` : "delta"));
    expect(order).toEqual(["delta", "tool:running", "tool:done", "delta"]);
    expect(watcher.finalFor(messageId)?.tools).toEqual([
      { toolCallId: "call-1", name: "read", status: "done", summary: "42 lines" },
    ]);
  });

  it("splits a long reply into events under the size limit with few publishes", async () => {
    const engine = new FakeEngine();
    const chunk = "é".repeat(1_000);
    engine.script = () => Array.from({ length: 150 }, () => ({ delta: chunk }));
    const { watcher, userId } = await startRunner({ engine });
    const { messageId } = await send(ports, userId, "write a lot");
    await watcher.until((e) => e.some((x) => x.type === "final"), 15_000, "final");
    const deltas = watcher.of("delta");
    expect(deltas.map((d) => d.text).join("")).toBe(chunk.repeat(150));
    for (const d of deltas) expect(Buffer.byteLength(JSON.stringify(d))).toBeLessThan(MAX_EVENT_BYTES);
    expect(deltas.length).toBeLessThanOrEqual(10);
    // The live final carries what fits; the stored message is whole.
    const final = watcher.finalFor(messageId);
    expect(final?.content.endsWith(TRUNCATED_NOTE)).toBe(true);
    const stored = await ports.chatStore.getMessage(userId, final?.conversationId ?? "", final?.id ?? "");
    expect(stored?.content).toBe(chunk.repeat(150));
  });
});

describe("the queue", () => {
  it("answers a second message of a conversation after the first, in order", async () => {
    const engine = new FakeEngine();
    engine.script = (text) => [{ wait: text === "first" ? 600 : 10 }, { delta: `re ${text}` }];
    const { watcher, userId } = await startRunner({ engine });
    const a = await send(ports, userId, "first");
    const b = await send(ports, userId, "second", a.conversationId);
    await watcher.until((e) => e.filter((x) => x.type === "final").length >= 2, 10_000, "two finals");
    expect(watcher.of("final").map((f) => f.message.content)).toEqual(["re first", "re second"]);
    const [r1, r2] = engine.runs;
    expect(r1?.text).toBe("first");
    expect(r2?.text).toBe("second");
    expect(r2?.startedAt).toBeGreaterThanOrEqual(r1?.endedAt ?? Number.POSITIVE_INFINITY);
    expect(watcher.finalFor(b.messageId)?.id).toBe(replyIdFor(b.messageId));
  });

  it("leaves an item another runtime claimed first: nothing run, published or stored", async () => {
    const engine = new FakeEngine();
    let contest = false;
    const { watcher, userId } = await startRunner({
      engine,
      pollMs: 60_000,
      queue: (q) =>
        Object.assign(Object.create(q) as PendingQueue, {
          claim: async (uid: string, itemId: string, workerId: string, leaseUntil: Date) => {
            // A second runtime of the same user claims it first (and holds it for a minute).
            if (contest) {
              contest = false;
              await q.claim(uid, itemId, "other-runtime", new Date(Date.now() + 60_000));
            }
            return q.claim(uid, itemId, workerId, leaseUntil);
          },
        }),
    });
    await watcher.until((e) => e.some((x) => x.type === "status" && x.state === "ready"), 10_000, "ready");
    contest = true;
    const { conversationId, messageId } = await send(ports, userId, "contested");
    // Another conversation is answered as usual afterwards.
    const other = await send(ports, userId, "next");
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final of the next message");
    expect(watcher.finalFor(other.messageId)?.content).toBe("echo: next");
    expect(engine.runs.map((r) => r.text)).toEqual(["next"]);
    // Nothing of the contested message reached a subscriber or the store; the holder keeps the item.
    const ofContested = watcher.events.filter(
      (e) => "conversationId" in e && e.conversationId === conversationId,
    );
    expect(ofContested.filter((e) => e.type !== "status").map((e) => e.type)).toEqual([]);
    expect(watcher.finalFor(messageId)).toBeUndefined();
    expect(await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId))).toBeUndefined();
    const [held] = await ports.queue.list(userId);
    expect(held).toMatchObject({ id: messageId, claimedBy: "other-runtime" });
  });

  it("on a wake-up, answers the oldest waiting message of a conversation first", async () => {
    const engine = new FakeEngine();
    const { watcher, userId } = await startRunner({ engine, pollMs: 60_000 });
    const a = await send(ports, userId, "first");
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "first final");
    // Let the drain that follows a finished run pass, so only the wake-up below drains.
    await eventually(async () => expect(await ports.queue.list(userId)).toEqual([]));
    await new Promise((r) => setTimeout(r, 300));
    // An older message whose wake-up was lost, then a newer one whose wake-up arrives.
    await send(ports, userId, "older, never announced", a.conversationId, { lostWake: true });
    const b = await send(ports, userId, "newer", a.conversationId);
    await watcher.until((e) => e.filter((x) => x.type === "final").length >= 3, 10_000, "three finals");
    expect(engine.runs.map((r) => r.text)).toEqual(["first", "older, never announced", "newer"]);
    expect(watcher.finalFor(b.messageId)?.content).toBe("echo: newer");
    await eventually(async () => expect(await ports.queue.list(userId)).toEqual([]));
  });

  it("runs different conversations at the same time", async () => {
    const engine = new FakeEngine();
    engine.script = (text) => [{ wait: 500 }, { delta: text }];
    const { watcher, userId } = await startRunner({ engine });
    await send(ports, userId, "one");
    await send(ports, userId, "two");
    await watcher.until((e) => e.filter((x) => x.type === "final").length >= 2, 10_000, "two finals");
    const [r1, r2] = engine.runs;
    expect(r2?.startedAt).toBeLessThan(r1?.endedAt ?? 0);
  });

  it("skips the warm-up turn when work is already queued, and answers it", async () => {
    const uid = newUserId();
    const { messageId } = await send(ports, uid, "waiting before start");
    const { engine, watcher } = await startRunner({ userId: uid });
    expect(engine.warmUps).toBe(0);
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(watcher.finalFor(messageId)?.content).toBe("echo: waiting before start");
  });

  it("counts the waking-up clock from the launch, not from its own start, at every stage", async () => {
    const uid = newUserId();
    await send(ports, uid, "clock"); // the launch takes the row to Starting, as ensureRuntime does
    const launchedAt = (await ports.taskStates.get(uid)).startedAt;
    expect(launchedAt).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_100)); // a process that starts a second later
    const { watcher } = await startRunner({ userId: uid });
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    const waking = watcher.of("status").filter((s) => s.state === "waking");
    expect(waking.length).toBeGreaterThan(1);
    for (const s of waking) expect(s.since).toBe(launchedAt);
  });

  it("picks up work without a wake-up through the safety poll", async () => {
    const { watcher, userId } = await startRunner({ pollMs: 300 });
    // Enqueue directly, as if the wake-up was lost.
    const conversationId = newId();
    await ports.chatStore.createConversation(userId, {
      id: conversationId,
      title: "t",
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    const messageId = newId();
    await ports.queue.enqueue({
      userId,
      id: messageId,
      conversationId,
      messageId,
      text: "no wake",
      source: "web",
      enqueuedAt: new Date().toISOString(),
      attempts: 0,
    });
    await watcher.until((e) => e.some((x) => x.type === "final"), 5_000, "final via poll");
    expect(watcher.finalFor(messageId)?.content).toBe("echo: no wake");
  });

  it("drops a queued message of a deleted conversation, and answers one that crashed too often with an error", async () => {
    const uid = newUserId();
    const enqueue = (conversationId: string, text: string, attempts: number) => {
      const id = newId();
      return ports.queue
        .enqueue({
          userId: uid,
          id,
          conversationId,
          messageId: id,
          text,
          source: "web",
          enqueuedAt: new Date().toISOString(),
          attempts,
        })
        .then(() => id);
    };
    const gone = await enqueue(newId(), "of a deleted conversation", 0);
    const conversationId = newId();
    const at = new Date().toISOString();
    await ports.chatStore.createConversation(uid, {
      id: conversationId,
      title: "t",
      createdAt: at,
      updatedAt: at,
    });
    // Three runtimes died answering it; the next claim is its fourth attempt.
    const doomed = await enqueue(conversationId, "crashes every runtime", 3);
    const { engine, watcher } = await startRunner({ userId: uid, maxAttempts: 3 });
    await watcher.until((e) => e.some((x) => x.type === "error"), 10_000, "the error reply");
    expect(watcher.of("error")[0]).toMatchObject({ code: "runtime_failed", replyTo: doomed });
    expect(await ports.chatStore.getMessage(uid, conversationId, replyIdFor(doomed))).toMatchObject({
      status: "error",
      error: { code: "runtime_failed" },
    });
    await eventually(async () => expect(await ports.queue.list(uid)).toEqual([]));
    expect(engine.runs).toEqual([]);
    expect(watcher.events.some((e) => "replyTo" in e && e.replyTo === gone)).toBe(false);
  });

  it("takes over an item whose worker died once its lease expires, and answers it once", async () => {
    const uid = newUserId();
    const { messageId } = await send(ports, uid, "orphaned");
    const [item] = await ports.queue.list(uid);
    if (!item) throw new Error("not queued");
    // A previous runtime claimed it and died mid-turn.
    await ports.queue.claim(uid, item.id, "dead-worker", new Date(Date.now() + 1_500));
    const { engine, watcher } = await startRunner({ userId: uid });
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final after lease expiry");
    // Its second attempt: OpenClaw is told the first one may have called tools.
    expect(engine.runs.map((r) => r.text)).toEqual([rerun("orphaned")]);
    expect(watcher.of("final")).toHaveLength(1);
    expect(watcher.finalFor(messageId)?.content).toBe(`echo: ${rerun("orphaned")}`);
  });

  it("does not run again a message whose reply was stored before a crash", async () => {
    const uid = newUserId();
    const { conversationId, messageId } = await send(ports, uid, "already answered");
    await ports.chatStore.putMessage(uid, {
      id: replyIdFor(messageId),
      conversationId,
      role: "assistant",
      content: "the stored answer",
      status: "complete",
      createdAt: new Date().toISOString(),
      replyTo: messageId,
    });
    const { engine, watcher } = await startRunner({ userId: uid });
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(engine.runs).toHaveLength(0);
    expect(watcher.finalFor(messageId)?.content).toBe("the stored answer");
    await eventually(async () => expect(await ports.queue.list(uid)).toEqual([]));
  });
});

describe("failures and abort", () => {
  it("turns an engine error into an error event a person can act on, and stores it", async () => {
    const engine = new FakeEngine();
    engine.script = () => [
      { delta: "partial" },
      {
        fail: new EngineError(
          "provider_unavailable",
          "The model provider answered 500. Try again in a minute.",
        ),
      },
    ];
    const { watcher, userId } = await startRunner({ engine });
    const { conversationId, messageId } = await send(ports, userId, "boom");
    await watcher.until((e) => e.some((x) => x.type === "error"), 10_000, "error");
    const [error] = watcher.of("error");
    expect(error).toMatchObject({
      code: "provider_unavailable",
      replyTo: messageId,
      conversationId,
      message: "The model provider answered 500. Try again in a minute.",
    });
    const stored = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
    expect(stored).toMatchObject({
      status: "error",
      content: "partial",
      error: { code: "provider_unavailable" },
    });
    // The item is completed right after the error is published.
    await eventually(async () => expect(await ports.queue.list(userId)).toEqual([]));
  });

  it("retries a run that crashed unexpectedly, then gives up with an error", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ fail: new TypeError("engine exploded") }];
    const { watcher, userId } = await startRunner({ engine, maxAttempts: 2 });
    const { messageId } = await send(ports, userId, "crashy");
    await watcher.until((e) => e.some((x) => x.type === "error"), 15_000, "error after retries");
    expect(engine.runs).toHaveLength(2);
    const [error] = watcher.of("error");
    expect(error).toMatchObject({ code: "runtime_failed", replyTo: messageId });
    expect(error?.message).not.toContain("exploded");
  });

  it("publishes the stored reply when another one was stored first (a stop raced the run)", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ wait: 400 }, { delta: "late answer" }];
    const { watcher, userId } = await startRunner({ engine });
    const { conversationId, messageId } = await send(ports, userId, "race me");
    await watcher.until((e) => e.some((x) => x.type === "run.started"), 10_000, "run started");
    await ports.chatStore.putMessage(userId, {
      id: replyIdFor(messageId),
      conversationId,
      role: "assistant",
      content: "",
      status: "aborted",
      createdAt: new Date().toISOString(),
      replyTo: messageId,
    });
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(watcher.finalFor(messageId)?.status).toBe("aborted");
  });

  it("restarts a dead engine and retries the message it was answering", async () => {
    const engine = new FakeEngine();
    let first = true;
    engine.script = (text) => {
      if (first) {
        first = false;
        setTimeout(() => engine.crash(), 100);
        return [{ delta: "half" }, { wait: 10_000 }];
      }
      return [{ delta: `re ${text}` }];
    };
    const { watcher, userId } = await startRunner({ engine });
    const { messageId } = await send(ports, userId, "survive");
    await watcher.until((e) => e.some((x) => x.type === "final"), 15_000, "final after restart");
    expect(engine.startCalls).toBe(2);
    expect(engine.runs.map((r) => r.outcome)).toEqual(["failed", "done"]);
    expect(watcher.of("final")).toHaveLength(1);
    expect(watcher.finalFor(messageId)?.content).toBe(`re ${rerun("survive")}`);
    expect(watcher.of("status").some((s) => s.state === "waking" && s.stage === "restarting_openclaw")).toBe(
      true,
    );
  });

  it("restarts an engine killed by a signal, mid-turn and between turns, and answers the next message", async () => {
    const engine = new FakeEngine();
    let killMidTurn = true;
    engine.script = (text) => {
      if (killMidTurn) {
        killMidTurn = false;
        // The OOM killer: Node reports a signal, not an exit code.
        setTimeout(() => engine.crash({ signal: "SIGKILL" }), 100);
        return [{ delta: "half" }, { wait: 10_000 }];
      }
      return [{ delta: `re ${text}` }];
    };
    const { watcher, userId } = await startRunner({ engine });
    const answered = (messageId: string) =>
      watcher.until((e) => e.some((x) => x.type === "final" && x.message.replyTo === messageId), 15_000);

    const first = await send(ports, userId, "killed mid-turn");
    await answered(first.messageId);
    expect(watcher.finalFor(first.messageId)?.content).toBe(`re ${rerun("killed mid-turn")}`);
    expect(engine.startCalls).toBe(2);

    // Killed while no turn runs: the heartbeat notices without any message.
    engine.crash({ signal: "SIGKILL" });
    await eventually(async () => expect(engine.startCalls).toBe(3));
    await eventually(async () => expect(watcher.statuses().at(-1)).toBe("ready"));

    // Killed again just before a message: it is answered, not failed with "not running".
    engine.crash({ signal: "SIGKILL" });
    const second = await send(ports, userId, "after a kill between turns", first.conversationId);
    await answered(second.messageId);
    expect(watcher.finalFor(second.messageId)?.content).toBe("re after a kill between turns");
    expect(engine.startCalls).toBe(4);
    expect(engine.runs.map((r) => r.outcome)).toEqual(["failed", "done", "done"]);
    expect(watcher.of("error")).toEqual([]);
  });

  it("retries storing a finished answer, not the turn: one model call and one stored reply", async () => {
    const engine = new FakeEngine();
    engine.script = (text) => [
      { tool: { toolCallId: "call-1", name: "exec", status: "done", summary: "sent the email" } },
      { delta: `re ${text}` },
    ];
    let failures = 3;
    const { watcher, userId } = await startRunner({
      engine,
      chats: (c) =>
        Object.assign(Object.create(c) as ChatStore, {
          putMessage: async (user: string, m: Parameters<ChatStore["putMessage"]>[1]) => {
            if (m.role === "assistant" && failures-- > 0)
              throw Object.assign(new Error("DynamoDB is unavailable"), { name: "ServiceUnavailable" });
            return c.putMessage(user, m);
          },
        }),
    });
    const { conversationId, messageId } = await send(ports, userId, "send it once");
    await watcher.until((e) => e.some((x) => x.type === "final"), 15_000, "final");
    expect(failures).toBeLessThan(0);
    expect(engine.runs).toHaveLength(1);
    expect(watcher.of("final")).toHaveLength(1);
    expect(watcher.of("error")).toEqual([]);
    const replies = (await ports.chatStore.listMessages(userId, conversationId)).items.filter(
      (m) => m.role === "assistant",
    );
    expect(replies).toMatchObject([
      { id: replyIdFor(messageId), content: "re send it once", status: "complete" },
    ]);
    await eventually(async () => expect(await ports.queue.list(userId)).toEqual([]));
  });

  it("stores a reply larger than a table item can hold, and reads it back whole", async () => {
    const engine = new FakeEngine();
    const summary = (i: number) => `${i}: ${"x".repeat(1_990)}`;
    const text = "The whole answer. ".repeat(5_000);
    engine.script = () => [
      ...Array.from({ length: 260 }, (_, i) => ({
        tool: { toolCallId: `call-${i}`, name: "read", status: "done" as const, summary: summary(i) },
      })),
      { delta: text },
    ];
    const { watcher, userId } = await startRunner({ engine });
    const { conversationId, messageId } = await send(ports, userId, "read everything");
    await watcher.until((e) => e.some((x) => x.type === "final" || x.type === "error"), 20_000, "outcome");
    expect(watcher.of("error")).toEqual([]);
    expect(engine.runs).toHaveLength(1);
    const stored = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
    expect(stored?.content).toBe(text);
    expect(stored?.tools).toHaveLength(260);
    expect(stored?.tools?.[259]).toEqual({
      toolCallId: "call-259",
      name: "read",
      status: "done",
      summary: summary(259),
    });
    const listed = (await ports.chatStore.listMessages(userId, conversationId)).items.at(-1);
    expect(listed).toEqual(stored);
  });

  it("tells OpenClaw, on a re-run after a crash, that tools may have run already", async () => {
    const engine = new FakeEngine();
    engine.script = () => {
      if (engine.runs.length === 1) {
        setTimeout(() => engine.crash(), 100);
        return [{ tool: { toolCallId: "call-1", name: "exec", status: "running" } }, { wait: 10_000 }];
      }
      return [{ delta: "checked first" }];
    };
    const { watcher, userId } = await startRunner({ engine });
    const { messageId } = await send(ports, userId, "book the flight");
    await watcher.until((e) => e.some((x) => x.type === "final"), 15_000, "final after restart");
    expect(engine.runs.map((r) => r.text)).toEqual(["book the flight", rerun("book the flight")]);
    expect(watcher.finalFor(messageId)?.content).toBe("checked first");
  });

  it("aborts the run of a conversation at once when asked, and stores what was said", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ delta: "thinking..." }, { wait: 30_000 }, { delta: "never" }];
    const { watcher, userId } = await startRunner({ engine });
    const { conversationId, messageId } = await send(ports, userId, "long task");
    await watcher.until((e) => e.some((x) => x.type === "delta"), 10_000, "first delta");
    const asked = Date.now();
    await ports.publisher.publish(agentChannel(userId), [
      { type: "abort", at: new Date().toISOString(), conversationId },
    ]);
    await watcher.until((e) => e.some((x) => x.type === "final"), 5_000, "aborted final");
    console.log(`abort → final: ${Date.now() - asked} ms`);
    expect(engine.runs[0]?.outcome).toBe("aborted");
    expect(watcher.finalFor(messageId)).toMatchObject({ status: "aborted", content: "thinking..." });
    const stored = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
    expect(stored?.status).toBe("aborted");
  });

  it("removes the reply of a run whose conversation was deleted while it ran, and publishes no final", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ delta: "thinking..." }, { wait: 30_000 }, { delta: "never" }];
    // OpenClaw takes a while to stop a turn: the reply is stored after the delete is done.
    let deleted: Promise<void> | undefined;
    const { watcher, userId, logs } = await startRunner({
      engine,
      chats: (c) =>
        Object.assign(Object.create(c) as ChatStore, {
          putMessage: async (user: string, m: Parameters<ChatStore["putMessage"]>[1]) => {
            if (m.role === "assistant") await deleted;
            return c.putMessage(user, m);
          },
        }),
    });
    const { conversationId, messageId } = await send(ports, userId, "long task");
    await watcher.until((e) => e.some((x) => x.type === "delta"), 10_000, "first delta");
    deleted = deleteConversation(
      { chatStore: ports.chatStore, queue: ports.queue, publisher: ports.publisher },
      userId,
      conversationId,
    );
    await deleted;
    // The log line comes before the runtime's clean-up, which then takes a few requests.
    await eventually(async () => {
      expect(engine.runs[0]?.outcome).toBe("aborted");
      expect(logs.some((l) => l.includes("deleted during the run"))).toBe(true);
      expect((await ports.chatStore.listMessages(userId, conversationId)).items).toEqual([]);
      expect(await ports.queue.list(userId)).toEqual([]);
    }, 10_000);
    expect(await ports.chatStore.getConversation(userId, conversationId)).toBeUndefined();
    expect(watcher.finalFor(messageId)).toBeUndefined();
  });

  it("applies new settings when a settings event arrives", async () => {
    const { engine, userId } = await startRunner();
    await ports.secrets.putSecret(userId, "llm-api-key", "sk-test-new-key-123");
    await ports.publisher.publish(agentChannel(userId), [{ type: "settings", at: new Date().toISOString() }]);
    const deadline = Date.now() + 5_000;
    while (!engine.settings.some((s) => s.apiKey === "sk-test-new-key-123") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(engine.settings.at(-1)?.apiKey).toBe("sk-test-new-key-123");
  });

  it("fails start-up cleanly: row Idle, the queued message kept and told why", async () => {
    const uid = newUserId();
    const { messageId } = await send(ports, uid, "before a broken start");
    const engine = new FakeEngine();
    engine.failStart = new EngineError("runtime_failed", "OpenClaw exited during start-up");
    const { runner, watcher } = await startRunner({ userId: uid, engine, wait: false });
    await expect(runner.start()).rejects.toThrow(/OpenClaw exited/);
    await expect(runner.stopped).resolves.toMatchObject({ exitCode: 1 });
    await watcher.until((e) => e.some((x) => x.type === "error"), 5_000, "error");
    expect(watcher.of("error")[0]).toMatchObject({ code: "runtime_failed", replyTo: messageId });
    expect((await ports.taskStates.get(uid)).status).toBe("Idle");
    expect(await ports.queue.list(uid)).toHaveLength(1);
  });
});

describe("lifecycle", () => {
  it("restores state before the engine starts and uploads what changed when it stops idle", async () => {
    const uid = newUserId();
    const prefix = stateBlobPrefix(uid);
    await ports.blobs.put(`${prefix}workspace/AGENTS.md`, new TextEncoder().encode("# restored"));
    await ports.blobs.put(`${prefix}workspace/_2egit_5fkeep`, new TextEncoder().encode("dotfile"));
    const engine = new FakeEngine();
    let seenAtStart = "";
    let stateDir = "";
    engine.onStart = () => {
      seenAtStart = readFileSync(join(stateDir, "workspace", "AGENTS.md"), "utf8");
    };
    stateDir = join(tc.dir, "state", uid, "idle");
    const { runner, watcher } = await startRunner({ userId: uid, engine, stateDir, idleTimeoutMs: 1_500 });
    expect(seenAtStart).toBe("# restored");
    expect(readFileSync(join(stateDir, "workspace", ".git_keep"), "utf8")).toBe("dotfile");

    // OpenClaw writes something during the session.
    await mkdir(join(stateDir, "agents", "main"), { recursive: true });
    await writeFile(join(stateDir, "agents", "main", "notes.md"), "new");
    await writeFile(join(stateDir, "gateway.log"), "not worth keeping");

    const result = await runner.stopped;
    expect(result).toEqual({ reason: "idle", exitCode: 0 });
    expect(engine.stopCalls).toBe(1);
    const row = await ports.taskStates.get(uid);
    expect(row.status).toBe("Idle");
    expect(row.taskRef).toBeUndefined();
    const keys = (await ports.blobs.list(prefix)).map((b) => b.key.slice(prefix.length)).sort();
    expect(keys).toEqual(["agents/main/notes.md", "workspace/AGENTS.md", "workspace/_2egit_5fkeep"]);
    await watcher.until((e) => e.some((x) => x.type === "status" && x.state === "asleep"), 5_000, "asleep");
    expect(watcher.statuses().slice(-2)).toEqual(["stopping", "asleep"]);
  });

  it("on stop during a turn, hands the message back to the queue and a new runtime answers it", async () => {
    const uid = newUserId();
    const engine = new FakeEngine();
    engine.script = () => [{ delta: "starting" }, { wait: 60_000 }];
    const first = await startRunner({ userId: uid, engine, shutdownMs: 5_000 });
    const { messageId } = await send(ports, uid, "interrupted");
    await first.watcher.until((e) => e.some((x) => x.type === "delta"), 10_000, "delta");
    await first.runner.stop("SIGTERM");
    await expect(first.runner.stopped).resolves.toEqual({ reason: "SIGTERM", exitCode: 0 });
    expect(first.watcher.of("error")[0]).toMatchObject({ code: "aborted", replyTo: messageId });
    expect(first.watcher.of("final")).toHaveLength(0);
    const queued = await ports.queue.list(uid);
    expect(queued).toHaveLength(1);
    // The interrupted run counts as an attempt, and its claim has ended: claimable at once.
    expect(queued[0]).toMatchObject({ attempts: 1 });
    expect(Date.parse(queued[0]?.leaseUntil ?? "")).toBeLessThanOrEqual(Date.now());
    expect((await ports.taskStates.get(uid)).status).toBe("Idle");

    const second = await startRunner({ userId: uid });
    expect(second.engine.warmUps).toBe(0);
    await second.watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(second.watcher.finalFor(messageId)?.content).toBe(`echo: ${rerun("interrupted")}`);
  });

  it("ends with an error a message whose run stops its own runtime every time (no endless loop)", async () => {
    const uid = newUserId();
    const { conversationId, messageId } = await send(ports, uid, "run the tool that kills the runtime");
    const maxAttempts = 2;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const engine = new FakeEngine();
      engine.script = () => [{ delta: "calling the tool" }, { wait: 60_000 }];
      const { runner, watcher } = await startRunner({ userId: uid, engine, maxAttempts, shutdownMs: 3_000 });
      await watcher.until((e) => e.some((x) => x.type === "delta"), 10_000, `attempt ${attempt} streams`);
      // The tool's doing: the runtime is told to stop while the turn runs.
      await runner.stop("SIGTERM");
    }
    const last = await startRunner({ userId: uid, maxAttempts });
    await last.watcher.until((e) => e.some((x) => x.type === "error"), 10_000, "the error reply");
    expect(last.engine.runs).toEqual([]);
    expect(last.watcher.of("error")[0]).toMatchObject({ code: "runtime_failed", replyTo: messageId });
    expect(await ports.chatStore.getMessage(uid, conversationId, replyIdFor(messageId))).toMatchObject({
      status: "error",
    });
    await eventually(async () => expect(await ports.queue.list(uid)).toEqual([]));
  });

  it("keeps the heartbeat fresh and stops without touching the row when another runtime took over", async () => {
    const { runner, userId } = await startRunner({ heartbeatMs: 200 });
    const before = await ports.taskStates.get(userId);
    await new Promise((r) => setTimeout(r, 600));
    const after = await ports.taskStates.get(userId);
    expect(Date.parse(after.heartbeatAt ?? "")).toBeGreaterThan(Date.parse(before.heartbeatAt ?? ""));

    // A launcher decided this runtime was dead and started another one.
    const now = new Date().toISOString();
    // The heartbeat writes concurrently: retry until our write wins.
    for (let written = false; !written; ) {
      const { userId: _u, version, ...rest } = await ports.taskStates.get(userId);
      written = !!(await ports.taskStates.compareAndSet(userId, version, {
        ...rest,
        taskRef: "local:424242",
        startedAt: now,
      }));
    }
    await expect(runner.stopped).resolves.toMatchObject({ reason: "superseded", exitCode: 0 });
    const row = await ports.taskStates.get(userId);
    expect(row).toMatchObject({ status: "Running", taskRef: "local:424242" });
  });

  it("keeps OpenClaw warm while idle, never during a run, and still stops when idle", async () => {
    const engine = new FakeEngine();
    engine.script = (text) => [{ wait: 800 }, { delta: `re ${text}` }];
    const warmUps: number[] = [];
    const warmUp = engine.warmUp.bind(engine);
    engine.warmUp = () => {
      warmUps.push(Date.now());
      return warmUp();
    };
    const { runner, watcher, userId } = await startRunner({ engine, keepWarmMs: 200, idleTimeoutMs: 2_500 });
    await send(ports, userId, "hello");
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    const [run] = engine.runs;
    // If keeping warm counted as activity, the idle stop would never come.
    expect((await runner.stopped).reason).toBe("idle");
    const during = warmUps.filter((t) => t > (run?.startedAt ?? 0) && t < (run?.endedAt ?? 0));
    expect(during).toEqual([]);
    // The start-up warm-up, then keep-warm turns while idle, before and after the run.
    expect(
      warmUps.filter((t) => t > (run?.endedAt ?? Number.POSITIVE_INFINITY)).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("counts a run in progress as activity on the row, so the watchdog never takes a long run for idle", async () => {
    const engine = new FakeEngine();
    engine.script = () => [{ delta: "working" }, { wait: 2_000 }, { delta: " done" }];
    const { watcher, userId } = await startRunner({ engine, heartbeatMs: 200 });
    const { messageId } = await send(ports, userId, "a long job");
    await watcher.until((e) => e.some((x) => x.type === "delta"), 10_000, "the run streams");
    const runStarted = engine.runs[0]?.startedAt ?? Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 1_000));
    const midRun = await ports.taskStates.get(userId);
    expect(engine.runs[0]?.endedAt).toBeUndefined();
    // Written by the heartbeat during the run, not only when a run ends.
    expect(Date.parse(midRun.lastActivityAt ?? "")).toBeGreaterThan(runStarted);
    // As the watchdog reads it: idle is counted from the latest beat of the run, not from its start.
    const idleLimit = midRun.idleTimeoutMinutes * 60_000 + LEASE.idleGraceMs;
    expect(isIdlePastGrace(midRun, runStarted + idleLimit + 1)).toBe(false);
    await watcher.until((e) => e.some((x) => x.type === "final"), 10_000, "final");
    expect(watcher.finalFor(messageId)?.content).toBe("working done");
  });

  it("waits for a live Stopping runtime, and not for one the lease says is dead", async () => {
    const stoppingSince = async (uid: string, beatAgoMs: number) => {
      const { version } = await ports.taskStates.get(uid);
      const beat = new Date(Date.now() - beatAgoMs).toISOString();
      await ports.taskStates.compareAndSet(uid, version, {
        status: "Stopping",
        taskRef: "local:1",
        startedAt: beat,
        heartbeatAt: beat,
        idleTimeoutMinutes: 15,
      });
    };
    const waitedFor = (logs: string[]) => logs.some((l) => l.includes("previous runtime still stopping"));

    const dead = newUserId();
    await stoppingSince(dead, LEASE.runningStaleMs + 60_000);
    // A wait as long as the test's own timeout: only the lease can end it early.
    const afterDead = await startRunner({ userId: dead, stoppingWaitMs: 60_000 });
    expect(waitedFor(afterDead.logs)).toBe(false);
    expect(afterDead.logs.some((l) => l.includes("died while stopping"))).toBe(true);
    expect((await ports.taskStates.get(dead)).status).toBe("Running");

    const live = newUserId();
    await stoppingSince(live, 0);
    const afterLive = await startRunner({ userId: live, stoppingWaitMs: 600 });
    expect(waitedFor(afterLive.logs)).toBe(true);
    expect((await ports.taskStates.get(live)).status).toBe("Running");
  });

  it("does not wipe a state folder it did not create", async () => {
    const dir = join(tc.dir, "someone-elses");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "precious.txt"), "keep me");
    const { runner } = await startRunner({ stateDir: dir, wait: false });
    await expect(runner.start()).rejects.toThrow(/not empty/);
    expect(existsSync(join(dir, "precious.txt"))).toBe(true);
  });
});
