import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, type FakeReply, startFakeLlm } from "../../e2e/fixtures/fake-llm";
import { agentChannel, type ChatEvent, newId, type RunErrorCode } from "../../lib/contracts";
import { loadConfig } from "../../lib/env";
import { ProcessRuntimeLauncher } from "../../lib/local/process-launcher";
import { type EventsServer, startEventsServer } from "../../lib/local-cloud/events";
import { ensureRuntime } from "../../lib/services/ensure-runtime";
import { sendMessage } from "../../lib/services/send-message";
import { TEXT } from "./runner/turn-outcome";
import { type DynamoFaultProxy, startDynamoFaultProxy } from "./testing/dynamo-fault-proxy";
import { alive, runtimePidsOf, sleep, waitFor } from "./testing/real-runtime";
import { startTestCloud, type TestCloud, testPorts, Watcher } from "./testing/test-cloud";

/*
 * The fault-injection suite: the real runtime (runtime/dist/main.js through the local
 * launcher), real OpenClaw, the fake LLM and the local cloud, with a fault injected into
 * each turn. Every case asserts the guarantee: the message is answered exactly once, or
 * gets one clear error, and nothing else is stored. Cold starts are costly, so cases that
 * leave their runtime up share it (each in a conversation of its own).
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
const KEY = "sk-fake-fault-key";

let tc: TestCloud;
let ports: ReturnType<typeof testPorts>;
let llm: FakeLlm;
let proxy: DynamoFaultProxy;
let direct: ProcessRuntimeLauncher;
let proxied: ProcessRuntimeLauncher;
const users: User[] = [];
const tally = { tried: 0, passed: 0 };

interface User {
  id: string;
  launcher: ProcessRuntimeLauncher;
  watcher: Watcher;
}

function launcherFor(cloudFile: string): ProcessRuntimeLauncher {
  return new ProcessRuntimeLauncher({
    stateDir: tc.cloud.info.stateDir,
    localCloudFile: cloudFile,
    projectRoot: root,
    entry: "dist",
    env: {
      RUNTIME_LEASE_SECONDS: "6",
      RUNTIME_HEARTBEAT_SECONDS: "2",
      RUNTIME_POLL_SECONDS: "3",
      RUNTIME_SYNC_SECONDS: "5",
      RUNTIME_IDLE_TIMEOUT_SECONDS: "300",
    },
  });
}

async function newUser(launcher: ProcessRuntimeLauncher, runTimeoutSeconds = 120): Promise<User> {
  const id = `fault-${newId().slice(-12)}`;
  await ports.settingsStore.putSettings(id, {
    provider: "openai-compatible",
    model: "fake-model",
    baseUrl: `${llm.url}/v1`,
    idleTimeoutMinutes: 15,
    prewarm: false,
    runTimeoutSeconds,
  });
  await ports.secrets.putSecret(id, "llm-api-key", KEY);
  const user = { id, launcher, watcher: await new Watcher(tc.config, id).start() };
  users.push(user);
  return user;
}

function ensure(user: User) {
  return ensureRuntime(
    {
      taskStates: ports.taskStates,
      launcher: user.launcher,
      publisher: ports.publisher,
      settingsStore: ports.settingsStore,
    },
    user.id,
    { warn: () => undefined },
  );
}

/** A new conversation with one message, sent the way POST /api/chat does. */
async function send(user: User, text: string): Promise<{ conversationId: string; messageId: string }> {
  const r = await sendMessage({ ...ports, launcher: user.launcher }, user.id, {
    text,
    idempotencyKey: newId(),
  });
  return { conversationId: r.conversationId, messageId: r.messageId };
}

function outcomes(user: User, messageId: string): ChatEvent[] {
  return user.watcher.events.filter(
    (e) =>
      (e.type === "final" && e.message.replyTo === messageId) ||
      (e.type === "error" && e.replyTo === messageId),
  );
}

function streamed(user: User, messageId: string): boolean {
  const runs = new Set(
    user.watcher
      .of("run.started")
      .filter((e) => e.replyTo === messageId)
      .map((e) => e.runId),
  );
  return user.watcher.of("delta").some((e) => runs.has(e.runId));
}

async function runtimePid(user: User): Promise<number> {
  const row = await ports.taskStates.get(user.id);
  const m = /^local:(\d+)$/.exec(row.taskRef ?? "");
  if (!m) throw new Error(`no local taskRef on the row: ${JSON.stringify(row)}`);
  return Number(m[1]);
}

function logTail(user: User): string {
  try {
    return readFileSync(user.launcher.logFile(user.id), "utf8").split("\n").slice(-40).join("\n");
  } catch {
    return "(no log)";
  }
}

type Expected = { answer: string } | { error: RunErrorCode } | { either: string; error: RunErrorCode };

/**
 * The guarantee, checked once the message has an outcome and a little time has passed for
 * anything late: in the chat store exactly the user's message and one reply to it (complete
 * with the expected text, or one error with the expected code); on the events at most one
 * final, no final after an error; nothing left in the queue for it.
 */
async function expectOnce(
  user: User,
  sent: { conversationId: string; messageId: string },
  expected: Expected,
  timeoutMs = 120_000,
  opts: { handedBack?: boolean } = {},
): Promise<void> {
  const { conversationId, messageId } = sent;
  // A turn handed back at shutdown tells the user so (an "aborted" error saying the message
  // is kept) before the next runtime answers it; that notice is the only error allowed before a final.
  const notice = (e: ChatEvent) =>
    opts.handedBack === true && e.type === "error" && e.code === "aborted" && e.message === TEXT.shutdown;
  try {
    await user.watcher.until(
      () => outcomes(user, messageId).some((e) => !notice(e)),
      timeoutMs,
      `an outcome of ${messageId}`,
    );
  } catch (err) {
    console.log(logTail(user));
    throw err;
  }
  await sleep(2_000);
  const events = outcomes(user, messageId).filter((e) => !notice(e));
  const finals = events.filter((e) => e.type === "final");
  expect(finals.length).toBeLessThanOrEqual(1);
  const firstError = events.findIndex((e) => e.type === "error");
  if (firstError >= 0) expect(events.slice(firstError).filter((e) => e.type === "final")).toEqual([]);
  expect(events.filter((e) => e.type === "error").length).toBeLessThanOrEqual(1);

  const stored = (await ports.chatStore.listMessages(user.id, conversationId, { limit: 200 })).items;
  expect(stored.filter((m) => m.role === "user").map((m) => m.id)).toEqual([messageId]);
  const replies = stored.filter((m) => m.role === "assistant");
  expect(replies.map((m) => m.replyTo)).toEqual([messageId]);
  expect(stored).toHaveLength(2);
  const reply = replies[0];
  const answered = reply?.status === "complete";
  if ("either" in expected) {
    if (answered) expect(reply?.content).toContain(expected.either);
    else
      expect({ status: reply?.status, code: reply?.error?.code }).toEqual({
        status: "error",
        code: expected.error,
      });
  } else if ("answer" in expected) {
    expect(reply?.status).toBe("complete");
    expect(reply?.content).toContain(expected.answer);
    expect(events.filter((e) => e.type === "error")).toEqual([]);
  } else {
    expect({ status: reply?.status, code: reply?.error?.code }).toEqual({
      status: "error",
      code: expected.error,
    });
    expect(finals).toEqual([]);
  }
  expect((await ports.queue.list(user.id)).map((i) => i.messageId)).not.toContain(messageId);
}

/** A case of the suite: counted, so the suite can print how many were tried and passed. */
function fault(name: string, fn: () => Promise<void>, timeoutMs: number): void {
  it(
    name,
    async () => {
      tally.tried++;
      const known = users.length;
      try {
        await fn();
      } catch (err) {
        for (const user of users.slice(Math.max(0, known - 1))) {
          const outs = user.watcher.events.filter((e) => e.type === "error" || e.type === "final");
          console.log(`${user.id}:\n${logTail(user)}\n${JSON.stringify(outs).slice(0, 4_000)}`);
        }
        throw err;
      }
      tally.passed++;
    },
    timeoutMs,
  );
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function modelCalls(text: string): number {
  return llm.requests.filter((r) => r.userText.includes(text)).length;
}

beforeAll(async () => {
  [tc, llm] = await Promise.all([startTestCloud(), startFakeLlm()]);
  ports = testPorts(tc.config);
  proxy = await startDynamoFaultProxy(tc.cloud.info.dynamodb.endpoint);
  const proxiedFile = join(tc.dir, "cloud-proxied.json");
  const info = JSON.parse(readFileSync(tc.cloud.file, "utf8"));
  writeFileSync(
    proxiedFile,
    JSON.stringify({ ...info, dynamodb: { ...info.dynamodb, endpoint: proxy.endpoint } }),
    {
      mode: 0o600,
    },
  );
  chmodSync(proxiedFile, 0o600);
  direct = launcherFor(tc.cloud.file);
  proxied = launcherFor(proxiedFile);
}, 120_000);

afterAll(async () => {
  console.log(`fault suite: ${tally.tried} cases tried, ${tally.passed} passed`);
  for (const user of users) {
    const pids = runtimePidsOf(root, user.id).flatMap((pid) => [pid, ...childrenOf(pid)]);
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    // Dead before the state folder goes: a runtime still writing would fail the removal.
    await waitFor(() => pids.every((p) => !alive(p)), 10_000, "the runtimes to die").catch(() => undefined);
    await user.watcher.close();
  }
  await ports?.close();
  await proxy?.close();
  await llm?.close();
  await tc?.close();
}, 60_000);

describe("the runtime dies mid-turn", () => {
  let user: User;
  // Longer than the shutdown's grace for a turn in progress, so SIGTERM must hand it back.
  const slow: FakeReply = {
    text: "never finished ".repeat(150),
    chunks: 150,
    chunkDelayMs: 200,
  };

  fault(
    "SIGTERM mid-turn (a Spot interruption): the next runtime answers exactly once",
    async () => {
      user = await newUser(direct);
      const first = await send(user, "warm up the runtime");
      await expectOnce(user, first, { answer: "You said: warm up the runtime" }, 240_000);

      llm.when("interrupted by sigterm", slow, { text: "answered after the sigterm", chunks: 2 });
      const pid = await runtimePid(user);
      const sent = await send(user, "interrupted by sigterm");
      await user.watcher.until(() => streamed(user, sent.messageId), 30_000, "the turn streams");
      await user.launcher.stop(`local:${pid}`, "test");
      await waitFor(() => !alive(pid), 60_000, "the runtime to exit");
      // Handed back: no reply stored for it, and back in the queue for the next runtime.
      const queued = (await ports.queue.list(user.id)).map((i) => i.messageId);
      expect(queued).toContain(sent.messageId);
      const early = await ports.chatStore.listMessages(user.id, sent.conversationId, { limit: 10 });
      expect(early.items.filter((m) => m.role === "assistant")).toEqual([]);
      const state = await ensure(user);
      expect(state.taskRef).not.toBe(`local:${pid}`);
      await expectOnce(user, sent, { answer: "answered after the sigterm" }, 240_000, { handedBack: true });
      expect(runtimePidsOf(root, user.id)).toHaveLength(1);
    },
    420_000,
  );

  fault(
    "SIGKILL mid-turn: a new runtime answers exactly once",
    async () => {
      llm.when("interrupted by sigkill", slow, { text: "answered after the sigkill", chunks: 2 });
      // Independent of how the case before ended: a live runtime to kill.
      await ensure(user);
      await waitFor(async () => alive(await runtimePid(user).catch(() => 0)), 60_000, "a runtime");
      const pid = await runtimePid(user);
      const sent = await send(user, "interrupted by sigkill");
      await user.watcher.until(() => streamed(user, sent.messageId), 30_000, "the turn streams");
      process.kill(pid, "SIGKILL");
      await waitFor(() => !alive(pid), 10_000, "the runtime to die");
      const state = await ensure(user);
      expect(state.taskRef).not.toBe(`local:${pid}`);
      await expectOnce(user, sent, { answer: "answered after the sigkill" }, 240_000);
      expect(runtimePidsOf(root, user.id)).toHaveLength(1);
    },
    300_000,
  );
});

describe("provider faults", () => {
  let user: User;

  fault(
    "500 once: answered",
    async () => {
      user = await newUser(direct);
      const warm = await send(user, "provider warm up");
      await expectOnce(user, warm, { answer: "You said: provider warm up" }, 240_000);
      llm.when(
        "flaky provider",
        { status: 500, message: "one-off failure" },
        { text: "answered after a 500" },
      );
      const sent = await send(user, "flaky provider");
      await expectOnce(user, sent, { answer: "answered after a 500" });
    },
    300_000,
  );

  fault(
    "a stream cut in the middle: answered",
    async () => {
      llm.when(
        "cut stream",
        { text: "half an ans", chunks: 3, chunkDelayMs: 50, cutAfter: true },
        { text: "answered after the cut" },
      );
      const sent = await send(user, "cut stream");
      await expectOnce(user, sent, { answer: "answered after the cut" });
    },
    150_000,
  );

  fault(
    "429 with Retry-After: answered, or one rate_limited error",
    async () => {
      llm.when(
        "rate limited",
        { status: 429, message: "slow down", headers: { "retry-after": "1" } },
        { text: "answered after the 429" },
      );
      const sent = await send(user, "rate limited");
      await expectOnce(user, sent, { either: "answered after the 429", error: "rate_limited" });
    },
    150_000,
  );

  fault(
    "500 always: one provider_unavailable error",
    async () => {
      llm.when("provider down", ...Array.from({ length: 20 }, () => ({ status: 500, message: "down" })));
      const sent = await send(user, "provider down");
      await expectOnce(user, sent, { error: "provider_unavailable" });
    },
    150_000,
  );

  fault(
    "hang past the run timeout: one run_timeout error",
    async () => {
      const settings = await ports.settingsStore.getSettings(user.id);
      await ports.settingsStore.putSettings(user.id, { ...settings, runTimeoutSeconds: 10 });
      await ports.publisher.publish(agentChannel(user.id), [
        { type: "settings", at: new Date().toISOString() },
      ]);
      await sleep(1_500);
      llm.when("hang forever", ...Array.from({ length: 5 }, (): FakeReply => ({ hang: true })));
      const sent = await send(user, "hang forever");
      await expectOnce(user, sent, { error: "run_timeout" }, 180_000);
    },
    240_000,
  );

  fault(
    "401: one invalid_api_key error",
    async () => {
      llm.when("bad key", ...Array.from({ length: 5 }, () => ({ status: 401, message: "invalid api key" })));
      const sent = await send(user, "bad key");
      await expectOnce(user, sent, { error: "invalid_api_key" });
    },
    150_000,
  );
});

describe("DynamoDB unavailable for a few seconds", () => {
  let user: User;

  fault(
    "during the final store: answered exactly once, one model call",
    async () => {
      user = await newUser(proxied);
      const warm = await send(user, "dynamo warm up");
      await expectOnce(user, warm, { answer: "You said: dynamo warm up" }, 240_000);
      llm.when("store outage", { text: "kept through the outage", chunks: 3, chunkDelayMs: 300 });
      const sent = await send(user, "store outage");
      await user.watcher.until(() => streamed(user, sent.messageId), 30_000, "the turn streams");
      const before = proxy.calls.length;
      await proxy.outage(4_000);
      expect(proxy.calls.slice(before).filter((c) => c.faulted).length).toBeGreaterThan(0);
      await expectOnce(user, sent, { answer: "kept through the outage" });
      expect(modelCalls("store outage")).toBe(1);
    },
    300_000,
  );

  fault(
    "during the claim: answered once after it recovers",
    async () => {
      const before = proxy.calls.length;
      const outage = proxy.outage(4_000);
      const sent = await send(user, "claim outage");
      await outage;
      await expectOnce(user, sent, { answer: "You said: claim outage" });
      expect(modelCalls("claim outage")).toBe(1);
      expect(proxy.calls.slice(before).filter((c) => c.faulted).length).toBeGreaterThan(0);
    },
    150_000,
  );
});

describe("two runtimes for one user", () => {
  fault(
    "two ensureRuntime calls at once and a stray launch: one runtime keeps the lease, answered once",
    async () => {
      const user = await newUser(direct);
      const states = await Promise.all([ensure(user), ensure(user)]);
      // A caller that found the other's launch under way may see no taskRef yet.
      const refs = new Set(states.map((s) => s.taskRef).filter(Boolean));
      expect(refs.size).toBe(1);
      const sent = await send(user, "one runtime only");
      await expectOnce(user, sent, { answer: "You said: one runtime only" }, 240_000);
      const owner = await runtimePid(user);
      expect(runtimePidsOf(root, user.id)).toEqual([owner]);
      // A second process for the same user (a launcher that took the lease for dead): the
      // later start takes the row over and the earlier one stops; one runtime remains.
      const stray = await user.launcher.launch(user.id);
      const strayPid = Number(stray.taskRef.slice("local:".length));
      await waitFor(() => !alive(owner), 120_000, "the superseded runtime to stop");
      await waitFor(
        async () => (await ports.taskStates.get(user.id)).status === "Running",
        120_000,
        "the row Running",
      );
      expect(await runtimePid(user)).toBe(strayPid);
      expect(runtimePidsOf(root, user.id)).toEqual([strayPid]);
      const again = await send(user, "still one runtime");
      await expectOnce(user, again, { answer: "You said: still one runtime" });
    },
    420_000,
  );
});

describe("the events server restarted mid-stream", () => {
  let events: EventsServer | undefined;
  let own: ReturnType<typeof testPorts> | undefined;

  afterAll(async () => {
    await own?.close();
    await events?.close();
  });

  fault(
    "the runtime and the watcher reconnect; the reply is stored once and shown at most once",
    async () => {
      // An events server of this case's own, so it can be closed and started again on its port.
      const info = JSON.parse(readFileSync(tc.cloud.file, "utf8"));
      const start = (port: number) =>
        startEventsServer({
          port,
          region: info.region,
          apiKey: info.events.apiKey,
          iamCredentials: [info.credentials],
          verifyUserToken: async () => {
            throw new Error("no user tokens in this test");
          },
        });
      events = await start(0);
      const port = events.port;
      const file = join(tc.dir, "cloud-own-events.json");
      writeFileSync(
        file,
        JSON.stringify({
          ...info,
          events: {
            ...info.events,
            httpEndpoint: events.httpEndpoint,
            realtimeEndpoint: events.realtimeEndpoint,
          },
        }),
        { mode: 0o600 },
      );
      const config = loadConfig({
        APP_MODE: "local",
        LOCAL_CLOUD_FILE: file,
      } as unknown as NodeJS.ProcessEnv);
      const ownPorts = testPorts(config);
      own = ownPorts;
      const launcher = launcherFor(file);
      const id = `fault-${newId().slice(-12)}`;
      await ports.settingsStore.putSettings(id, {
        provider: "openai-compatible",
        model: "fake-model",
        baseUrl: `${llm.url}/v1`,
        idleTimeoutMinutes: 15,
        prewarm: false,
        runTimeoutSeconds: 120,
      });
      await ports.secrets.putSecret(id, "llm-api-key", KEY);
      const user: User = { id, launcher, watcher: await new Watcher(config, id).start() };
      users.push(user);
      const sendOwn = async (text: string) => {
        const r = await sendMessage({ ...ownPorts, launcher }, id, { text, idempotencyKey: newId() });
        return { conversationId: r.conversationId, messageId: r.messageId };
      };
      const warm = await sendOwn("events warm up");
      await expectOnce(user, warm, { answer: "You said: events warm up" }, 240_000);

      llm.when("events restart", {
        text: "streamed through a restart ".repeat(20),
        chunks: 20,
        chunkDelayMs: 250,
      });
      const sent = await sendOwn("events restart");
      await user.watcher.until(() => streamed(user, sent.messageId), 30_000, "the turn streams");
      await events.close();
      await sleep(1_500);
      events = await start(port);
      // Events in the gap are lost (as on AWS); the stored reply is whole and shown at most once.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const r = await ports.chatStore.listMessages(id, sent.conversationId, { limit: 10 });
        if (r.items.some((m) => m.role === "assistant")) break;
        await sleep(250);
      }
      await sleep(2_000);
      const stored = (await ports.chatStore.listMessages(id, sent.conversationId, { limit: 10 })).items;
      expect(stored.map((m) => [m.role, m.status])).toEqual([
        ["user", "complete"],
        ["assistant", "complete"],
      ]);
      expect(stored[1]?.content).toContain("streamed through a restart");
      expect(outcomes(user, sent.messageId).filter((e) => e.type === "final").length).toBeLessThanOrEqual(1);
      expect(outcomes(user, sent.messageId).filter((e) => e.type === "error")).toEqual([]);
      expect(modelCalls("events restart")).toBe(1);
      // Both ends are back: the next message wakes the runtime and its reply reaches the watcher.
      const after = await sendOwn("after the events restart");
      await expectOnce(user, after, { answer: "You said: after the events restart" });
    },
    360_000,
  );
});
