import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "../../e2e/fixtures/fake-llm";
import { agentChannel, type ChatEvent, newId, replyIdFor } from "../../lib/contracts";
import { ProcessRuntimeLauncher } from "../../lib/local/process-launcher";
import { ensureRuntime } from "../../lib/services/ensure-runtime";
import { sendMessage } from "../../lib/services/send-message";
import { startTestCloud, type TestCloud, testPorts, Watcher } from "./testing/test-cloud";

/*
 * The runtime as it really runs: the bundled runtime/dist/main.js started by the local
 * launcher through ensureRuntime, real OpenClaw in its child process, the fake LLM, dynalite,
 * the events emulator. Each cold start costs 10-30 s of CPU, so the suite starts the
 * runtime three times and walks one user through every scenario in order:
 *   start 1: streaming, tools, provider error, missing key, abort, order, child env, SIGTERM mid-turn
 *   start 2: the conversation continues after the restart; then the runtime is killed mid-turn
 *   start 3: recovers the killed turn exactly once; replaces OpenClaw killed by a signal
 *            (between turns and mid-turn); then stops itself when idle
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
const userId = `it-${newId().slice(-12)}`;
const KEY = "sk-fake-integration-key";

let tc: TestCloud;
let ports: ReturnType<typeof testPorts>;
let llm: FakeLlm;
let launcher: ProcessRuntimeLauncher;
let watcher: Watcher;
let conversationA = "";

function ensure() {
  return ensureRuntime(
    {
      taskStates: ports.taskStates,
      launcher,
      publisher: ports.publisher,
      settingsStore: ports.settingsStore,
    },
    userId,
    { warn: () => undefined },
  );
}

async function send(
  text: string,
  conversationId?: string,
): Promise<{ conversationId: string; messageId: string }> {
  const r = await sendMessage({ ...ports, launcher }, userId, {
    text,
    conversationId,
    idempotencyKey: newId(),
  });
  return { conversationId: r.conversationId, messageId: r.messageId };
}

function eventsFor(messageId: string): ChatEvent[] {
  const runIds = new Set(
    watcher
      .of("run.started")
      .filter((e) => e.replyTo === messageId)
      .map((e) => e.runId),
  );
  return watcher.events.filter(
    (e) =>
      ("runId" in e && e.runId && runIds.has(e.runId)) ||
      (e.type === "final" && e.message.replyTo === messageId) ||
      (e.type === "error" && e.replyTo === messageId),
  );
}

function outcome(messageId: string): (events: ChatEvent[]) => boolean {
  return (events) =>
    events.some(
      (e) =>
        (e.type === "final" && e.message.replyTo === messageId) ||
        (e.type === "error" && e.replyTo === messageId),
    );
}

async function runtimePid(): Promise<number> {
  const row = await ports.taskStates.get(userId);
  const m = /^local:(\d+)$/.exec(row.taskRef ?? "");
  if (!m) throw new Error(`no local taskRef on the row: ${JSON.stringify(row)}`);
  return Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The runtime's "runtime ready" log lines: its start-up stages in ms. */
function readyLines(): string[] {
  const file = launcher.logFile(userId);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.includes('"runtime ready"'));
}

function logTail(): string {
  const file = launcher.logFile(userId);
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-30).join("\n") : "(no log)";
}

beforeAll(async () => {
  [tc, llm] = await Promise.all([startTestCloud(), startFakeLlm()]);
  ports = testPorts(tc.config);
  launcher = new ProcessRuntimeLauncher({
    stateDir: tc.cloud.info.stateDir,
    localCloudFile: tc.cloud.file,
    projectRoot: root,
    entry: "dist",
    env: {
      RUNTIME_LEASE_SECONDS: "6",
      RUNTIME_HEARTBEAT_SECONDS: "2",
      RUNTIME_POLL_SECONDS: "3",
      RUNTIME_SYNC_SECONDS: "5",
      RUNTIME_IDLE_TIMEOUT_SECONDS: "25",
      RUNTIME_LOG_LEVEL: "debug",
      // What ECS puts in a task's environment: none of it may reach OpenClaw.
      AWS_ACCESS_KEY_ID: "TESTKEYRUNTIMEINTEG1",
      AWS_SECRET_ACCESS_KEY: "runtime-integration-test-secret",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
      ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/abc",
    },
  });
  await ports.settingsStore.putSettings(userId, {
    provider: "openai-compatible",
    model: "fake-model",
    baseUrl: `${llm.url}/v1`,
    idleTimeoutMinutes: 15,
    prewarm: false,
    runTimeoutSeconds: 120,
  });
  await ports.secrets.putSecret(userId, "llm-api-key", KEY);
  watcher = await new Watcher(tc.config, userId).start();
}, 120_000);

afterAll(async () => {
  const row = ports ? await ports.taskStates.get(userId).catch(() => undefined) : undefined;
  const pid = /^local:(\d+)$/.exec(row?.taskRef ?? "")?.[1];
  if (pid && alive(Number(pid))) process.kill(Number(pid), "SIGKILL");
  await watcher?.close();
  await ports?.close();
  await llm?.close();
  await tc?.close();
});

describe("the runtime with real OpenClaw", () => {
  it("cold-starts, streams a turn in order, and stores the final message", async () => {
    llm.when("hello", { text: "Hello there, nice to meet you!", chunks: 6, chunkDelayMs: 40 });
    const launched = Date.now();
    const { conversationId, messageId } = await send("hello");
    conversationA = conversationId;
    try {
      await watcher.until(outcome(messageId), 240_000, "the first reply");
    } catch (err) {
      console.log(logTail());
      throw err;
    }
    console.log(`cold start: send → final ${Date.now() - launched} ms`);
    console.log(readyLines().at(-1));
    const events = eventsFor(messageId);
    const deltas = events.filter((e) => e.type === "delta");
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((d) => (d.type === "delta" ? d.seq : -1))).toEqual(deltas.map((_, i) => i));
    const final = watcher.finalFor(messageId);
    expect(final).toMatchObject({ id: replyIdFor(messageId), status: "complete" });
    expect(final?.content).toContain("Hello there, nice to meet you!");
    expect(deltas.map((d) => (d.type === "delta" ? d.text : "")).join("")).toContain("Hello there");
    const stored = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
    expect(stored?.content).toBe(final?.content);
    const stages = watcher
      .of("status")
      .filter((s) => s.state === "waking")
      .map((s) => s.stage);
    expect(stages).toContain("restoring");
    expect(watcher.statuses()).toContain("ready");
    expect((await ports.taskStates.get(userId)).status).toBe("Running");
  }, 300_000);

  it("answers a warm turn quickly", async () => {
    const sent = Date.now();
    const { messageId } = await send("warm turn", conversationA);
    await watcher.until(outcome(messageId), 90_000, "warm reply");
    const firstDelta = eventsFor(messageId).find((e) => e.type === "delta");
    console.log(`warm turn: send → first delta ${firstDelta ? Date.parse(firstDelta.at) - sent : "?"} ms`);
    expect(watcher.finalFor(messageId)?.content).toContain("You said: warm turn");
  }, 120_000);

  it("shows a tool call as tool events", async () => {
    llm.when(
      "list the workspace",
      { toolCalls: [{ name: "exec", arguments: { command: "ls" } }] },
      { text: "The workspace has a few files." },
    );
    const { messageId } = await send("list the workspace", conversationA);
    await watcher.until(outcome(messageId), 60_000, "tool turn");
    const tools = eventsFor(messageId).filter((e) => e.type === "tool");
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.map((t) => (t.type === "tool" ? t.tool.name : ""))).toContain("exec");
    expect(watcher.finalFor(messageId)?.content).toContain("The workspace has a few files.");
  }, 90_000);

  it("reports a provider failure as a clear error event", async () => {
    llm.when(
      "provider down",
      { status: 500, message: "upstream exploded" },
      { status: 500 },
      { status: 500 },
    );
    const { messageId } = await send("provider down", conversationA);
    await watcher.until(outcome(messageId), 60_000, "error");
    const [error] = eventsFor(messageId).filter((e) => e.type === "error");
    expect(error).toMatchObject({ code: "provider_unavailable" });
    expect(error?.type === "error" && error.message.length).toBeGreaterThan(10);
  }, 90_000);

  it("reports a missing API key, and recovers when one is stored", async () => {
    await ports.secrets.deleteSecret(userId, "llm-api-key");
    await ports.publisher.publish(agentChannel(userId), [{ type: "settings", at: new Date().toISOString() }]);
    await new Promise((r) => setTimeout(r, 1_500));
    const { messageId } = await send("no key now", conversationA);
    await watcher.until(outcome(messageId), 30_000, "missing key error");
    expect(eventsFor(messageId).find((e) => e.type === "error")).toMatchObject({ code: "missing_api_key" });

    await ports.secrets.putSecret(userId, "llm-api-key", KEY);
    await ports.publisher.publish(agentChannel(userId), [{ type: "settings", at: new Date().toISOString() }]);
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await send("key is back", conversationA);
    await watcher.until(outcome(again.messageId), 30_000, "reply with key");
    expect(watcher.finalFor(again.messageId)?.status).toBe("complete");
    expect(llm.requests.at(-1)?.apiKey).toBe(KEY);
  }, 90_000);

  it("aborts a run at once", async () => {
    llm.when("tell a long story", { text: "Once upon a time ".repeat(100), chunks: 100, chunkDelayMs: 150 });
    const { conversationId, messageId } = await send("tell a long story");
    await watcher.until(
      () => eventsFor(messageId).some((e) => e.type === "delta"),
      60_000,
      "story starts streaming",
    );
    const asked = Date.now();
    await ports.publisher.publish(agentChannel(userId), [
      { type: "abort", at: new Date().toISOString(), conversationId },
    ]);
    await watcher.until(outcome(messageId), 10_000, "aborted");
    console.log(`abort → final: ${Date.now() - asked} ms`);
    expect(watcher.finalFor(messageId)?.status).toBe("aborted");
  }, 90_000);

  it("answers a second message sent during the first one after it, in order", async () => {
    llm.when("slow first", { text: "first answer", chunks: 4, chunkDelayMs: 500 });
    llm.when("quick second", { text: "second answer", chunks: 1 });
    const a = await send("slow first", conversationA);
    const b = await send("quick second", conversationA);
    await watcher.until(outcome(b.messageId), 60_000, "second reply");
    const finals = watcher.of("final").map((f) => f.message.replyTo);
    expect(finals.indexOf(a.messageId)).toBeGreaterThanOrEqual(0);
    expect(finals.indexOf(a.messageId)).toBeLessThan(finals.indexOf(b.messageId));
    const secondAsked = llm.requests.find((r) => r.userText.includes("quick second"));
    const firstAsked = llm.requests.find((r) => r.userText.includes("slow first"));
    expect(secondAsked?.receivedAt).toBeGreaterThan((firstAsked?.receivedAt ?? 0) + 1_500);
    expect(watcher.finalFor(b.messageId)?.content).toContain("second answer");
  }, 90_000);

  it("gives OpenClaw no AWS credentials", async () => {
    const pid = await runtimePid();
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    expect(children.length).toBeGreaterThan(0);
    const runtimeEnv = readFileSync(`/proc/${pid}/environ`, "utf8");
    expect(runtimeEnv).toContain("AWS_ACCESS_KEY_ID=");
    for (const child of children) {
      const names = readFileSync(`/proc/${child}/environ`, "utf8")
        .split("\0")
        .map((kv) => kv.split("=")[0] ?? "");
      expect(names.filter((n) => /^(AWS_|ECS_)/.test(n))).toEqual([]);
      expect(names).not.toContain("TELEGRAM_BOT_TOKEN");
    }
  });

  it("runs the bundled worker with the resolve fast path in OpenClaw's threads too", () => {
    // The image's layout: dist/openclaw-worker.js finds dist/openclaw-thread-preload.js.
    const workerLog = join(launcher.userDir(userId), "openclaw", "logs", "worker.log");
    expect(readFileSync(workerLog, "utf8")).toContain("resolve fast path on, OpenClaw's threads too");
  });

  it("loses nothing on SIGTERM during a turn", async () => {
    llm.when("sigterm during this", { text: "answered despite the stop", chunks: 5, chunkDelayMs: 400 });
    const pid = await runtimePid();
    const { messageId } = await send("sigterm during this", conversationA);
    await watcher.until(
      () => eventsFor(messageId).some((e) => e.type === "delta"),
      30_000,
      "the turn streams",
    );
    const row = await ports.taskStates.get(userId);
    await launcher.stop(row.taskRef ?? "", "test");
    await waitFor(() => !alive(pid), 30_000, "the runtime to exit");
    const stored = await ports.chatStore.getMessage(userId, conversationA, replyIdFor(messageId));
    const queued = (await ports.queue.list(userId)).map((i) => i.messageId);
    // Either the turn finished within the grace period, or its message went back to the queue.
    expect(stored?.status === "complete" || queued.includes(messageId)).toBe(true);
    expect(stored?.content ?? "").toContain(stored ? "answered despite the stop" : "");
    expect((await ports.taskStates.get(userId)).status).toBe("Idle");
    expect(readFileSync(launcher.logFile(userId), "utf8")).toContain('"final state sync"');
  }, 60_000);

  it("continues the conversation after a restart (OpenClaw sees the earlier turns)", async () => {
    const { messageId } = await send("what did I say first?", conversationA);
    await watcher.until(outcome(messageId), 240_000, "reply after restart");
    console.log(readyLines().at(-1));
    const req = llm.requests.find((r) => r.userText.includes("what did I say first?"));
    const history = (req?.messages ?? []).map((m) => m.text).join("\n");
    expect(history).toContain("hello");
    expect(history).toContain("Hello there, nice to meet you!");
  }, 300_000);

  it("answers exactly once when the runtime is killed mid-turn and started again", async () => {
    llm.when(
      "survive a crash",
      { text: "never finished ", chunks: 50, chunkDelayMs: 200 },
      { text: "answered after the crash", chunks: 2 },
    );
    const pid = await runtimePid();
    const { conversationId, messageId } = await send("survive a crash", conversationA);
    await watcher.until(
      () => eventsFor(messageId).some((e) => e.type === "delta"),
      30_000,
      "the doomed turn streams",
    );
    process.kill(pid, "SIGKILL");
    await waitFor(() => !alive(pid), 10_000, "the runtime to die");

    // The next request finds the row Running with a dead task and starts a new runtime.
    const state = await ensure();
    expect(state.taskRef).not.toBe(`local:${pid}`);
    await watcher.until(
      (events) => events.some((e) => e.type === "final" && e.message.replyTo === messageId),
      240_000,
      "the retried reply",
    );
    await new Promise((r) => setTimeout(r, 2_000));
    expect(watcher.of("final").filter((f) => f.message.replyTo === messageId)).toHaveLength(1);
    const replies = (await ports.chatStore.listMessages(userId, conversationId, { limit: 200 })).items.filter(
      (m) => m.replyTo === messageId,
    );
    expect(replies).toHaveLength(1);
    expect(replies[0]?.content).toContain("answered after the crash");
    // The re-run told OpenClaw that the first attempt may have called tools.
    const asked = llm.requests.filter((r) => r.userText.includes("survive a crash"));
    expect(asked.at(-1)?.userText).toContain("tools you called may already have run");
  }, 300_000);

  it("replaces OpenClaw killed by a signal, between turns and mid-turn, in the same runtime", async () => {
    const runtime = await runtimePid();
    // OpenClaw's process: the runtime's child (none once the runtime itself has exited).
    const openclaw = (): number[] => {
      const file = `/proc/${runtime}/task/${runtime}/children`;
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    };
    const [first] = openclaw();
    if (!first) throw new Error("no OpenClaw child");
    // What the OOM killer does; the runtime notices without a message and starts a new one.
    process.kill(first, "SIGKILL");
    await waitFor(() => openclaw().some((p) => p !== first), 60_000, "a new OpenClaw process");
    const between = await send("after the worker was killed", conversationA);
    await watcher.until(outcome(between.messageId), 120_000, "reply after a kill between turns");
    expect(watcher.finalFor(between.messageId)?.content).toContain("You said: after the worker was killed");

    llm.when(
      "kill the worker mid-reply",
      { text: "never finished ", chunks: 50, chunkDelayMs: 200 },
      { text: "answered after the worker died", chunks: 2 },
    );
    const mid = await send("kill the worker mid-reply", conversationA);
    await watcher.until(
      () => eventsFor(mid.messageId).some((e) => e.type === "delta"),
      30_000,
      "the doomed turn streams",
    );
    const [second] = openclaw();
    if (!second) throw new Error("no OpenClaw child");
    process.kill(second, "SIGKILL");
    await watcher.until(
      (events) => events.some((e) => e.type === "final" && e.message.replyTo === mid.messageId),
      120_000,
      "the reply after the worker died",
    );
    expect(eventsFor(mid.messageId).filter((e) => e.type === "error")).toEqual([]);
    expect(watcher.of("final").filter((f) => f.message.replyTo === mid.messageId)).toHaveLength(1);
    expect(watcher.finalFor(mid.messageId)?.content).toContain("answered after the worker died");
    expect(await runtimePid()).toBe(runtime);
  }, 300_000);

  it("stops itself after the idle timeout and marks the row Idle", async () => {
    const pid = await runtimePid();
    await waitFor(() => !alive(pid), 60_000, "the idle runtime to exit");
    const row = await ports.taskStates.get(userId);
    expect(row.status).toBe("Idle");
    expect(row.taskRef).toBeUndefined();
    expect(readFileSync(launcher.logFile(userId), "utf8")).toMatch(/"idle timeout reached"/);
    expect(watcher.statuses().at(-1)).toBe("asleep");
  }, 90_000);
});
