import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeLlm,
  OPENCLAW_CONTINUATION_PROMPT,
  OPENCLAW_QUEUED_MESSAGE_MARKER,
  startFakeLlm,
} from "../../../e2e/fixtures/fake-llm";
import { EngineError, type EngineEvent, type EngineSettings } from "../engine";
import { OpenClawEngine, v8PoolSizeFor, WARMUP_PROMPT } from "./openclaw-engine";
import { listSqliteFiles, snapshotSqlite } from "./sqlite";

/*
 * The real OpenClaw 2026.9.6 against the fake LLM. A cold start costs 10-30 s on the shared
 * CPU, so one engine serves the whole file (started twice: once more for the restart test),
 * and the tests run in order.
 */

const KEY = "sk-engine-test-4b1d";
let llm: FakeLlm;
let stateDir: string;
let engine: OpenClawEngine;
let settings: EngineSettings;
const stages: string[] = [];

// Credentials the runtime holds; none of them may reach the OpenClaw child.
const parentEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: "AKIAENGINETEST",
  AWS_SECRET_ACCESS_KEY: "engine-test-secret",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/engine-test",
  ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/engine-test",
  TELEGRAM_BOT_TOKEN: "123456:engine-test",
};

function newEngine(): OpenClawEngine {
  return new OpenClawEngine({ stateDir, settings, parentEnv });
}

async function turn(sessionKey: string, text: string, signal = new AbortController().signal) {
  const events: EngineEvent[] = [];
  const result = await engine.run({ sessionKey, text, signal, onEvent: (e) => events.push(e) });
  return { ...result, events };
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(
    () => new Error("expected the run to fail"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

beforeAll(async () => {
  llm = await startFakeLlm();
  stateDir = await mkdtemp(join(tmpdir(), "oc-engine-"));
  settings = {
    provider: "openai-compatible",
    model: "fake-model",
    baseUrl: `${llm.url}/v1`,
    apiKey: KEY,
    runTimeoutSeconds: 120,
  };
  engine = newEngine();
  await engine.start((s) => stages.push(s));
  await engine.warmUp();
}, 240_000);

afterAll(async () => {
  await engine?.stop(10_000);
  await llm?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe("OpenClawEngine (real OpenClaw, fake LLM)", () => {
  it("reports start-up stages and warms up without spending an LLM call", () => {
    expect(stages).toEqual(expect.arrayContaining(["config-written", "spawned", "openclaw-import", "ready"]));
    expect(llm.requests.some((r) => r.userText === WARMUP_PROMPT)).toBe(false);
  });

  it("streams a turn as phases then deltas in order, and returns the final text", async () => {
    llm.when("stream please", { text: "One, two, three, four, five.", chunks: 5, chunkDelayMs: 20 });
    const { text, events } = await turn("conv-stream", "stream please");
    expect(text).toBe("One, two, three, four, five.");
    const deltas = events.filter((e) => e.type === "delta").map((e) => e.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(text);
    const firstDelta = events.findIndex((e) => e.type === "delta");
    expect(events.slice(0, firstDelta).some((e) => e.type === "phase")).toBe(true);
    const req = llm.requests.find((r) => r.userText === "stream please");
    expect(req?.apiKey).toBe(KEY);
    expect(req?.toolNames).toContain("exec");
  }, 60_000);

  it("shows a tool call as tool events before the answer", async () => {
    llm.when(
      "use a tool",
      { toolCalls: [{ name: "exec", arguments: { command: "echo tool-output-42" } }] },
      { text: "The tool said 42." },
    );
    const { text, events } = await turn("conv-tool", "use a tool");
    expect(text).toBe("The tool said 42.");
    const tools = events.filter((e) => e.type === "tool");
    expect(tools.map((t) => t.status)).toEqual(["running", "done"]);
    expect(tools[0]).toMatchObject({ name: "exec" });
    expect(tools[0]?.toolCallId).toBe(tools[1]?.toolCallId);
    const lastTool = events.lastIndexOf(tools[1] as EngineEvent);
    expect(events.findIndex((e) => e.type === "delta")).toBeGreaterThan(lastTool);
    // The command really ran, and its output went back to the model.
    const second = llm.requests.filter((r) => r.userText === "use a tool").at(-1);
    expect(second?.hasToolResult).toBe(true);
    expect(second?.messages.some((m) => m.role === "tool" && m.text.includes("tool-output-42"))).toBe(true);
  }, 60_000);

  it("ends a run at once on abort, and the session takes the next turn", async () => {
    llm.when("stop me", { text: "I have started a long answer", chunks: 2, hangAfter: true });
    const controller = new AbortController();
    const events: EngineEvent[] = [];
    const running = engine.run({
      sessionKey: "conv-abort",
      text: "stop me",
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "delta") controller.abort();
      },
    });
    const err = await failure(running);
    expect(err.code).toBe("aborted");
    expect(events.some((e) => e.type === "delta")).toBe(true);
    llm.when("after the stop", { text: "Back again." });
    expect((await turn("conv-abort", "after the stop")).text).toBe("Back again.");
  }, 60_000);

  it("keeps the conversation: a second turn sends the earlier ones to the model", async () => {
    llm.when("my name is Ada", { text: "Nice to meet you, Ada." });
    await turn("conv-history", "my name is Ada");
    llm.when("what is my name", { text: "Ada." });
    await turn("conv-history", "what is my name");
    const req = llm.requests.find((r) => r.userText === "what is my name");
    const texts = req?.messages.map((m) => m.text).join("\n") ?? "";
    expect(texts).toContain("my name is Ada");
    expect(texts).toContain("Nice to meet you, Ada.");
    // Sessions are separate per conversation.
    llm.when("fresh start", { text: "Hello." });
    await turn("conv-other", "fresh start");
    const other = llm.requests.find((r) => r.userText === "fresh start");
    expect(other?.messages.map((m) => m.text).join("\n")).not.toContain("my name is Ada");
  }, 60_000);

  it("answers a turn whose first provider call fails with a 500: OpenClaw's retry gives the real answer", async () => {
    // Only the first call fails; the retry gets the fake's echo of what the user asked.
    llm.when("flaky provider", { status: 500 });
    const { text, events } = await turn("conv-500-once", "flaky provider");
    expect(text).toBe("You said: flaky provider");
    const streamed = events.filter((e) => e.type === "delta").map((e) => e.text);
    expect(streamed.join("")).toBe(text);
    // The retry was OpenClaw's continuation, whose prompt is internal: none of it reaches the user.
    const calls = llm.requests.filter((r) => r.userText === "flaky provider");
    expect(calls.map((r) => r.continuation)).toEqual([false, true]);
    for (const marker of [
      OPENCLAW_QUEUED_MESSAGE_MARKER,
      OPENCLAW_CONTINUATION_PROMPT,
      "Queued user message",
    ])
      expect(`${text}\n${streamed.join("")}`).not.toContain(marker);
    // The conversation goes on from the real exchange.
    llm.when("and then", { text: "Then this." });
    expect((await turn("conv-500-once", "and then")).text).toBe("Then this.");
  }, 60_000);

  it("answers a turn whose stream is cut in the middle with the answer of OpenClaw's retry", async () => {
    llm.when("cut me off", { text: "This answer will not get to its", chunks: 4, cutAfter: true });
    const { text } = await turn("conv-cut", "cut me off");
    expect(text).toBe("You said: cut me off");
    expect(llm.requests.filter((r) => r.userText === "cut me off").map((r) => r.continuation)).toEqual([
      false,
      true,
    ]);
  }, 60_000);

  it("ends a turn whose provider answers 500 every time with one provider_unavailable error", async () => {
    llm.when("break please", { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const events: EngineEvent[] = [];
    const err = await failure(
      engine.run({
        sessionKey: "conv-500",
        text: "break please",
        signal: new AbortController().signal,
        onEvent: (e) => events.push(e),
      }),
    );
    expect(err.code).toBe("provider_unavailable");
    expect(err.message).toMatch(/try again/i);
    expect(events.filter((e) => e.type === "delta")).toEqual([]);
    // One call and the two retries the agent settings allow (config.ts), not OpenClaw's default eight.
    const calls = llm.requests.filter((r) => r.userText === "break please");
    expect(calls.map((r) => r.continuation)).toEqual([false, true, true]);
  }, 60_000);

  it("maps a 429 to rate_limited", async () => {
    llm.when("too fast", { status: 429 }, { status: 429 }, { status: 429 }, { status: 429 });
    const err = await failure(turn("conv-429", "too fast"));
    expect(err.code).toBe("rate_limited");
  }, 60_000);

  it("fails with missing_api_key when no key is set, without calling the provider", async () => {
    const before = llm.requests.length;
    await engine.applySettings({ ...settings, apiKey: undefined });
    try {
      const err = await failure(turn("conv-nokey", "no key here"));
      expect(err.code).toBe("missing_api_key");
      expect(err.message).toMatch(/Settings/);
      expect(llm.requests.length).toBe(before);
    } finally {
      await engine.applySettings(settings);
    }
  }, 60_000);

  it("applies new settings without a restart", async () => {
    const pid = engine.pids()[0];
    await engine.applySettings({ ...settings, model: "fake-model-2" });
    try {
      llm.when("which model", { text: "the second one" });
      expect((await turn("conv-settings", "which model")).text).toBe("the second one");
      expect(llm.requests.find((r) => r.userText === "which model")?.model).toBe("fake-model-2");
      expect(engine.pids()[0]).toBe(pid);
    } finally {
      await engine.applySettings(settings);
    }
  }, 60_000);

  it.each([
    ["anthropic", "anthropic-messages", ""],
    ["openai", "responses", "/v1"],
  ] as const)(
    "speaks the %s API shape (text and a tool call)",
    async (provider, api, path) => {
      await engine.applySettings({
        ...settings,
        provider,
        baseUrl: `${llm.url}${path}`,
        model: `${provider}-fake`,
      });
      try {
        llm.when(`shape ${provider}`, { text: `Hello from ${provider}.`, chunks: 3 });
        expect((await turn(`conv-${provider}`, `shape ${provider}`)).text).toBe(`Hello from ${provider}.`);
        const req = llm.requests.find((r) => r.userText === `shape ${provider}`);
        expect(req).toMatchObject({ api, model: `${provider}-fake`, apiKey: KEY, stream: true });
        llm.when(
          `tool ${provider}`,
          { toolCalls: [{ name: "exec", arguments: { command: `echo shape-${provider}` } }] },
          { text: "Done." },
        );
        const { text, events } = await turn(`conv-${provider}`, `tool ${provider}`);
        expect(text).toBe("Done.");
        expect(events.filter((e) => e.type === "tool").map((e) => e.status)).toEqual(["running", "done"]);
        const after = llm.requests.filter((r) => r.userText === `tool ${provider}`).at(-1);
        expect(after?.messages.some((m) => m.role === "tool" && m.text.includes(`shape-${provider}`))).toBe(
          true,
        );
      } finally {
        await engine.applySettings(settings);
      }
    },
    90_000,
  );

  it("maps a run that outlives the run timeout to run_timeout", async () => {
    await engine.applySettings({ ...settings, runTimeoutSeconds: 5 });
    try {
      llm.when("never answers", { hang: true });
      const err = await failure(turn("conv-timeout", "never answers"));
      expect(err.code).toBe("run_timeout");
      expect(err.message).toMatch(/5 seconds/);
    } finally {
      await engine.applySettings(settings);
    }
  }, 90_000);

  it("gives the OpenClaw child no AWS variable, no ECS endpoint and no bot token", () => {
    const [pid] = engine.pids();
    expect(pid).toBeTypeOf("number");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const names = environ.map((kv) => kv.split("=")[0] ?? "");
    expect(names).toContain("OPENCLAW_STATE_DIR");
    expect(names.filter((n) => /^AWS_|^ECS_|TELEGRAM/.test(n))).toEqual([]);
    expect(environ.join("\n")).not.toContain("engine-test-secret");
  });

  it("starts the OpenClaw child with the tuned Node flags and the resolve fast path", () => {
    const [pid] = engine.pids();
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv).toContain("--max-semi-space-size=64");
    expect(argv).toContain(`--v8-pool-size=${v8PoolSizeFor(availableParallelism())}`);
    expect(readFileSync(join(stateDir, "logs", "worker.log"), "utf8")).toContain(
      "resolve fast path on, OpenClaw's threads too",
    );
  });

  it("keeps the key in a 0600 config file and out of the logs", async () => {
    const configPath = join(stateDir, "openclaw.json");
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(configPath, "utf8")).toContain(KEY);
    for (const log of ["worker.log", "openclaw.log"]) {
      const path = join(stateDir, "logs", log);
      if (existsSync(path)) expect(await readFile(path, "utf8")).not.toContain(KEY);
    }
  });

  it("snapshots a live session database consistently", async () => {
    const dbs = await listSqliteFiles(stateDir);
    const agentDb = dbs.find((p) => p.endsWith("openclaw-agent.sqlite"));
    expect(agentDb).toBeDefined();
    const out = join(stateDir, "..", `${stateDir.split("/").pop()}-snapshot.sqlite`);
    try {
      await snapshotSqlite(agentDb as string, out);
      const db = new DatabaseSync(out, { readOnly: true });
      try {
        expect(db.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      } finally {
        db.close();
      }
    } finally {
      await rm(out, { force: true });
    }
  });

  it("maps a 401 to invalid_api_key, also while OpenClaw holds the key back, until the settings are saved", async () => {
    llm.when("wrong key", { status: 401, message: "invalid api key" });
    const first = await failure(turn("conv-401", "wrong key"));
    expect(first.code).toBe("invalid_api_key");
    expect(first.message).toMatch(/Check the key in Settings/);
    expect(llm.requests.filter((r) => r.userText === "wrong key")).toHaveLength(1);
    // OpenClaw now refuses to use the key for a while, without calling the provider, in any
    // conversation; each of those failures reads as the first one.
    const before = llm.requests.length;
    for (const [sessionKey, text] of [
      ["conv-401", "still the wrong key"],
      ["conv-401-other", "another conversation"],
    ] as const) {
      const err = await failure(turn(sessionKey, text));
      expect(err.code).toBe("invalid_api_key");
      expect(err.message).toBe(first.message);
    }
    expect(llm.requests.length).toBe(before);
    // Saving the settings (a corrected key) lets the very next message through.
    await engine.applySettings(settings);
    llm.when("key fixed", { text: "Now it works." });
    expect((await turn("conv-401", "key fixed")).text).toBe("Now it works.");
    expect(llm.requests.find((r) => r.userText === "key fixed")?.apiKey).toBe(KEY);
  }, 60_000);

  it("after stop and start on the same state, the conversation continues", async () => {
    // A key rejected just before the stop: OpenClaw keeps its pause in the state folder, and
    // the next start (here with another key, as after a settings change while asleep) lifts it.
    llm.when("rejected before the stop", { status: 401, message: "invalid api key" });
    expect((await failure(turn("conv-401", "rejected before the stop"))).code).toBe("invalid_api_key");
    await engine.stop(15_000);
    expect(engine.pids()).toEqual([]);
    // stop() folded the write-ahead logs into the databases.
    for (const db of await listSqliteFiles(stateDir)) {
      const wal = `${db}-wal`;
      if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
    }
    settings = { ...settings, apiKey: `${KEY}-2` };
    engine = newEngine();
    await engine.start();
    llm.when("do you still know me", { text: "Yes, Ada." });
    expect((await turn("conv-history", "do you still know me")).text).toBe("Yes, Ada.");
    const req = llm.requests.find((r) => r.userText === "do you still know me");
    const texts = req?.messages.map((m) => m.text).join("\n") ?? "";
    expect(texts).toContain("my name is Ada");
    expect(texts).toContain("what is my name");
  }, 180_000);

  it("on Stop, forwards no text after the abort and ends the run as aborted; OpenClaw cuts the provider's stream", async () => {
    // The first abort in this process: the engine was restarted above and has not warmed up.
    // Fast enough that text is still on its way from the worker when the abort is requested.
    const words = Array.from({ length: 2000 }, (_, i) => `word${i} `);
    llm.when("a long story", { text: words.join(""), chunks: words, chunkDelayMs: 2 });
    const controller = new AbortController();
    const seen: Array<"delta" | "abort" | "rejected"> = [];
    const running = engine.run({
      sessionKey: "conv-story",
      text: "a long story",
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type !== "delta") return;
        seen.push("delta");
        if (seen.length === 3) {
          controller.abort();
          seen.push("abort");
        }
      },
    });
    const err = await failure(running);
    seen.push("rejected");
    expect(err.code).toBe("aborted");
    expect(seen).toEqual(["delta", "delta", "delta", "abort", "rejected"]);
    // The worker reports the end of the run before the session takes its next turn; no text
    // of the stopped run arrived in the meantime.
    llm.when("after the story", { text: "Next." });
    expect((await turn("conv-story", "after the story")).text).toBe("Next.");
    expect(seen.at(-1)).toBe("rejected");
    // The provider's stream was cut, not read to its end in the background.
    const story = llm.requests.find((r) => r.userText === "a long story");
    await expect.poll(() => story?.abortedByClient).toBe(true);
  }, 60_000);
});
