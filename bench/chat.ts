/*
 * `npm run bench:chat`: the warm-turn overhead of our whole path, in one run.
 *
 *   ours:   POST /api/chat (the production build, over HTTP) → queue → wake-up → runner →
 *           OpenClaw → fake LLM → deltas published → first delta at a subscriber
 *           (subscribed like the browser: Cognito token, `/chat/<sub>/*`), from a client
 *           process of its own (chat-client.ts)
 *   direct: engine.run() on the same warm OpenClaw engine, in the same process as the
 *           runner, bypassing route, queue and events; time to its first delta
 *
 * Both legs alternate turn by turn (which one goes first alternates too), each in its own
 * session of the same length, after a few warm-up turns. Prints p50 and p95 of each and
 * the ratio of the medians (target ≤ 1.20). Everything runs on 127.0.0.1 and stops at the end.
 * The processes are laid out as in AWS where the machine allows (layout.ts): the runtime
 * on a CPU of its own, the stand-ins for AWS and the client on the others.
 *
 * The script runs with `--max-semi-space-size=64`, the flag the runtime runs with in its
 * image and in local mode (runtime/entrypoint.sh, lib/local/process-launcher.ts), because
 * the runner under test runs in this process.
 *
 * Options (env): BENCH_TURNS (default 20), BENCH_WARMUP (3), BENCH_THINK_MS (500, the pause
 * before each turn), BENCH_LAYOUT (split or shared), BENCH_REUSE_BUILD=1 (reuse .next/e2e).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeLlm } from "../e2e/fixtures/fake-llm";
import { buildApp, freePort, startApp } from "../e2e/support/app-server";
import { startCloudProcess } from "../e2e/support/cloud-process";
import { createAdapters } from "../lib/adapters";
import { newId } from "../lib/contracts";
import { configFromLocalCloud } from "../lib/env";
import { signInForTest } from "../lib/testing/services";
import type { AgentEngine } from "../runtime/src/engine";
import { OpenClawEngine } from "../runtime/src/openclaw";
import { Runner } from "../runtime/src/runner/runner";
import { nowMs, startChatClient } from "./chat-client";
import { chooseLayout, pinProcess, pinTree } from "./layout";
import { medianRatioInterval, percentile } from "./stats";

const TURNS = Number(process.env.BENCH_TURNS ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
/**
 * Pause before each turn, as a person pauses between reading a reply and sending the next
 * message. Without it a turn starts while the previous one's bookkeeping (the reply's
 * store and final event, OpenClaw's own transcript writes) still runs on the same cores.
 */
const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 500);
const TURN_TIMEOUT_MS = 120_000;

const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), TURN_TIMEOUT_MS)),
  ]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-chat-"));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.warn("cleanup:", e));
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

  try {
    // The fake LLM answers at once, so the numbers are our overhead plus OpenClaw's own.
    const llm = await startFakeLlm();
    cleanups.push(() => llm.close());
    llm.setFallback((req) => ({ text: `Echo: ${req.userText}`, chunks: 4, chunkDelayMs: 0 }));

    const appPort = await freePort();
    // Its own process, as the stores and AppSync Events are separate services in AWS: the
    // runner below must not share its event loop with the emulated cloud.
    const cloud = await startCloudProcess({
      stateDir: join(dir, "cloud"),
      appUrl: `http://127.0.0.1:${appPort}`,
    });
    cleanups.push(() => cloud.stop());
    const layout = chooseLayout();
    if (layout.otherCpus) pinTree(cloud.pid, layout.otherCpus);
    const config = configFromLocalCloud(cloud.info, cloud.file);
    const container = createAdapters(config);
    const user = await signInForTest(cloud.info.cognito, cloud.firstUser.email, cloud.firstUser.password);
    await container.settingsStore.putSettings(user.sub, {
      provider: "openai-compatible",
      model: "fake-model",
      baseUrl: `${llm.url}/v1`,
      idleTimeoutMinutes: 60,
      prewarm: false,
      runTimeoutSeconds: 120,
    });
    await container.secrets.putSecret(user.sub, "llm-api-key", "sk-bench");

    // The runtime, in this process, so the direct leg can call its very engine.
    const stateDir = join(dir, "runtime", "openclaw");
    mkdirSync(stateDir, { recursive: true });
    let engine: AgentEngine | undefined;
    /** When the runner called engine.run and when that run gave its first delta (our leg only). */
    const ourEngineRuns: { start: number; firstDelta: number }[] = [];
    const wakes: number[] = [];
    const { chatStore, settingsStore, taskStates, queue, blobs, secrets, publisher } = container;
    const runnerPorts = {
      ...{ chatStore, settingsStore, taskStates, queue, blobs, secrets, publisher },
      subscriber: container.subscriber(),
    };
    const runner = new Runner(runnerPorts, {
      userId: user.sub,
      workerId: `bench-${process.pid}`,
      stateDir,
      scratchDir: `${stateDir}.snapshots`,
      createEngine: (settings) => {
        const created = new OpenClawEngine({ stateDir, settings, parentEnv: process.env });
        engine = created;
        // Our leg's runs (the runner's sessions are `conv-…`), timed at the engine seam.
        const run = created.run.bind(created);
        created.run = (req) => {
          if (!req.sessionKey.startsWith("conv-")) return run(req);
          const timing = { start: nowMs(), firstDelta: 0 };
          ourEngineRuns.push(timing);
          return run({
            ...req,
            onEvent: (e) => {
              if (e.type === "delta" && timing.firstDelta === 0) timing.firstDelta = nowMs();
              req.onEvent(e);
            },
          });
        };
        return created;
      },
      // Only the arrival of wake-ups is of interest: when the runtime learned of a message.
      log: (_level, msg, fields) => {
        if (msg === "agent event" && fields?.type === "wake") wakes.push(nowMs());
      },
      idleTimeoutMs: 60 * 60_000,
    });
    cleanups.push(async () => {
      await runner.stop("bench done");
    });
    // Built before this process moves to the runtime's CPU: the build may use them all.
    buildApp({ cloudFile: cloud.file, reuse: process.env.BENCH_REUSE_BUILD === "1" });
    console.log(`[bench] layout: ${layout.description}`);
    // OpenClaw's process, started below, inherits this process's CPUs (the cloud, started
    // above, keeps its own).
    if (layout.runtimeCpus) pinProcess(process.pid, layout.runtimeCpus);
    const coldStart = Date.now();
    console.log("[bench] starting OpenClaw (cold start) …");
    await runner.start();
    console.log(`[bench] runtime ready in ${((Date.now() - coldStart) / 1000).toFixed(1)} s`);
    const warmEngine = engine;
    if (!warmEngine) throw new Error("the runner did not create an engine");

    const app = await startApp({ cloudFile: cloud.file, port: appPort, logFile: join(dir, "next.log") });
    cleanups.push(() => app.stop());
    if (layout.otherCpus) pinTree(app.pid, layout.otherCpus);

    // The browser's part: the POST and a subscriber like the chat page's (the user's token,
    // every conversation of the user), in a process of its own.
    const client = await startChatClient({
      appUrl: app.url,
      httpEndpoint: cloud.info.events.httpEndpoint,
      realtimeEndpoint: cloud.info.events.realtimeEndpoint,
      region: cloud.info.region,
      userSub: user.sub,
      accessToken: user.accessToken,
    });
    cleanups.push(() => client.stop());
    if (layout.otherCpus) pinTree(client.pid, layout.otherCpus);

    let conversationId: string | undefined;
    /** POST → first delta of this message's run at the client's subscriber; after its final. */
    const oursTurn = async (text: string) => {
      const runsBefore = ourEngineRuns.length;
      const wakesBefore = wakes.length;
      const turn = await withTimeout(client.turn(text, conversationId), "our turn");
      conversationId = turn.conversationId;
      const timing = ourEngineRuns[runsBefore];
      if (!timing) throw new Error("our turn did not reach the engine");
      const t0 = turn.t0;
      return {
        firstDelta: turn.firstDelta - t0,
        post: turn.answered - t0,
        started: turn.started - t0,
        engineStart: timing.start - t0,
        wake: (wakes[wakesBefore] ?? Number.NaN) - t0,
        engineFirst: timing.firstDelta - t0,
      };
    };

    const directSession = `bench-direct-${newId().slice(-8)}`;
    const directTurn = async (text: string): Promise<number> => {
      let first = 0;
      const t0 = nowMs();
      await withTimeout(
        warmEngine.run({
          sessionKey: directSession,
          text,
          signal: new AbortController().signal,
          onEvent: (e) => {
            if (e.type === "delta" && first === 0) first = nowMs();
          },
        }),
        "direct turn",
      );
      if (first === 0) throw new Error("the direct turn finished without a delta");
      return first - t0;
    };

    const ours: number[] = [];
    const posts: number[] = [];
    const starts: number[] = [];
    const engineStarts: number[] = [];
    const wakeArrivals: number[] = [];
    const engineOwn: number[] = [];
    const delivery: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < WARMUP + TURNS; i++) {
      const text = `Turn ${i}: say something short.`;
      const runOurs = async () => {
        await new Promise((r) => setTimeout(r, THINK_MS));
        const r = await oursTurn(text);
        if (i >= WARMUP) {
          ours.push(r.firstDelta);
          posts.push(r.post);
          starts.push(r.started);
          engineStarts.push(r.engineStart);
          wakeArrivals.push(r.wake);
          engineOwn.push(r.engineFirst - r.engineStart);
          delivery.push(r.firstDelta - r.engineFirst);
        }
      };
      const runDirect = async () => {
        await new Promise((r) => setTimeout(r, THINK_MS));
        const d = await directTurn(text);
        if (i >= WARMUP) direct.push(d);
      };
      if (i % 2 === 0) {
        await runOurs();
        await runDirect();
      } else {
        await runDirect();
        await runOurs();
      }
      process.stdout.write(i < WARMUP ? "w" : ".");
    }
    process.stdout.write("\n");

    const p50o = percentile(ours, 50);
    const p50d = percentile(direct, 50);
    console.log(`\nlayout: ${layout.description}`);
    console.log(
      `warm-turn overhead, ${TURNS} turns each (after ${WARMUP} warm-up turns, ${THINK_MS} ms pause before each), time to first delta:`,
    );
    console.log(`  ours   (POST → subscriber)   p50 ${fmt(p50o)}   p95 ${fmt(percentile(ours, 95))}`);
    console.log(`  direct (engine.run)          p50 ${fmt(p50d)}   p95 ${fmt(percentile(direct, 95))}`);
    console.log(
      `  POST /api/chat answered in   p50 ${fmt(percentile(posts, 50))}   p95 ${fmt(percentile(posts, 95))}`,
    );
    console.log(`  POST → run.started at the subscriber  p50 ${fmt(percentile(starts, 50))}`);
    console.log(`  POST → wake at the runtime            p50 ${fmt(percentile(wakeArrivals, 50))}`);
    console.log(`  POST → engine.run called by the runner  p50 ${fmt(percentile(engineStarts, 50))}`);
    console.log(
      `  our engine.run → its first delta  p50 ${fmt(percentile(engineOwn, 50))}   p95 ${fmt(percentile(engineOwn, 95))}   (direct leg: p50 ${fmt(p50d)})`,
    );
    console.log(`  engine's first delta → subscriber  p50 ${fmt(percentile(delivery, 50))}`);
    console.log(`  overhead p50 ${fmt(p50o - p50d)}`);
    const ratio = medianRatioInterval(ours, direct);
    console.log(`  ratio (p50 ours / p50 direct) ${ratio.ratio.toFixed(3)}   target ≤ 1.20`);
    // How far this run's own turns let the ratio move (the spread between runs is about as large).
    const verdict =
      ratio.high <= 1.2 ? "under the target" : ratio.low > 1.2 ? "over the target" : "straddles the target";
    console.log(
      `  ${Math.round(ratio.level * 100)} % bootstrap interval over the ${ours.length} turn pairs: ` +
        `${ratio.low.toFixed(3)}-${ratio.high.toFixed(3)} (${verdict})`,
    );
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
