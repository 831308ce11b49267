/*
 * `npm run bench:runtime`: cold start of our OpenClaw engine (and of the whole runtime, when
 * its bundle builds) next to a bare `openclaw gateway run` with default config, started the
 * same way in the same run; warm-turn latency; peak RSS of each process tree; and the size
 * of the runtime's payload. Prints tables; asserts nothing (timings vary with the machine).
 *
 *   npm run bench:runtime -- [--rounds N] [--no-gateway] [--no-full] [--no-size]
 *
 * "Our engine" starts OpenClaw's stateless worker pools alongside its import (the default,
 * runtime/src/openclaw/prewarm.ts) and gives V8 a background pool sized to the machine
 * (v8PoolSizeFor) and a shorter resolution of OpenClaw's own imports (resolve-fast-path.ts);
 * one row each shows the same start without one of those.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FakeLlm, startFakeLlm } from "../e2e/fixtures/fake-llm";
import { stopChild } from "../e2e/support/cloud-process";
import { type ChatEvent, newId } from "../lib/contracts";
import { ProcessRuntimeLauncher } from "../lib/local/process-launcher";
import { sendMessage } from "../lib/services/send-message";
import { buildChildEnv } from "../runtime/src/openclaw/child-env";
import {
  childNodeFlags,
  type EngineBenchHooks,
  OpenClawEngine,
  primeCompileCache,
} from "../runtime/src/openclaw/openclaw-engine";
import { startTestCloud, testPorts, Watcher } from "../runtime/src/testing/test-cloud";
import { waitForGateway } from "./gateway-v4";

const root = fileURLToPath(new URL("..", import.meta.url));
const runtimeDir = join(root, "runtime");
const openclawBin = join(runtimeDir, "node_modules", "openclaw", "openclaw.mjs");
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const rounds = Math.max(1, Number(args[args.indexOf("--rounds") + 1]) || 1);

const ms = (t0: number) => Math.round(performance.now() - t0);
const sec = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1000).toFixed(1)} s`);
const mb = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1024 / 1024).toFixed(0)} MB`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};

// ---------- process-tree memory ----------

function readProcs(): Map<number, { ppid: number; rss: number }> {
  const out = new Map<number, { ppid: number; rss: number }>();
  const page = 4096;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const statm = readFileSync(`/proc/${name}/statm`, "utf8").split(" ");
      out.set(Number(name), { ppid: Number(fields[1]), rss: Number(statm[1]) * page });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return out;
}

/** RSS of `pid` and all its descendants, in bytes. */
export function treeRss(pid: number): number {
  const procs = readProcs();
  let total = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop() as number;
    total += procs.get(p)?.rss ?? 0;
    for (const [child, info] of procs) if (info.ppid === p) queue.push(child);
  }
  return total;
}

/** Samples the tree under whatever pid `root()` returns, every 250 ms, keeping the peak. */
function rssSampler(root: () => number | undefined): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    const pid = root();
    if (pid !== undefined) peak = Math.max(peak, treeRss(pid));
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---------- the three ways to start ----------

interface Result {
  label: string;
  readyMs?: number;
  firstTokenMs?: number;
  warmFirstTokenMs?: number;
  afterWarmUpFirstTokenMs?: number;
  warmUpMs?: number;
  peakRss?: number;
  stages?: string;
  error?: string;
}

/** What a start of our engine leaves out, against the default one. */
type EngineVariant = "default" | "warm-up first" | "no early pools" | "node's v8 pool" | "node's resolver";

const ENGINE_LABELS: Record<EngineVariant, string> = {
  default: "our engine, message waiting at start",
  "warm-up first": "our engine, warm-up then message",
  "no early pools": "our engine without the early pool start, message waiting",
  "node's v8 pool": "our engine with Node's default V8 pool (4 threads), message waiting",
  "node's resolver": "our engine with Node's own resolver for OpenClaw's imports, message waiting",
};

/** How a variant starts the child differently (EngineBenchHooks: not options of the product). */
const VARIANT_HOOKS: Record<EngineVariant, EngineBenchHooks> = {
  default: {},
  "warm-up first": {},
  "no early pools": { childEnv: { OPENCLAW_WORKER_PREWARM: "0" } },
  // Without --v8-pool-size, Node keeps its own default.
  "node's v8 pool": { nodeFlags: childNodeFlags().filter((f) => !f.startsWith("--v8-pool-size")) },
  "node's resolver": { childEnv: { OPENCLAW_WORKER_FAST_RESOLVE: "0" } },
};

async function benchEngine(llm: FakeLlm, cacheDir: string, variant: EngineVariant): Promise<Result> {
  const label = ENGINE_LABELS[variant];
  const prewarm = variant === "warm-up first";
  const stateDir = await mkdtemp(join(tmpdir(), "bench-engine-"));
  const engine = new OpenClawEngine(
    {
      stateDir,
      parentEnv: process.env,
      compileCacheDir: cacheDir,
      settings: {
        provider: "openai-compatible",
        model: "fake-model",
        baseUrl: `${llm.url}/v1`,
        apiKey: "sk-bench",
        runTimeoutSeconds: 300,
      },
    },
    VARIANT_HOOKS[variant],
  );
  const sampler = rssSampler(() => engine.pids()[0]);
  const stages: string[] = [];
  const t0 = performance.now();
  try {
    await engine.start((s) => stages.push(`${s} ${sec(ms(t0))}`));
    const readyMs = ms(t0);
    let warmUpMs: number | undefined;
    if (prewarm) {
      const w = performance.now();
      await engine.warmUp();
      warmUpMs = ms(w);
    }
    const turn = async (sessionKey: string, text: string) => {
      const s = performance.now();
      let first: number | undefined;
      await engine.run({
        sessionKey,
        text,
        signal: new AbortController().signal,
        onEvent: (e) => {
          if (e.type === "delta" && first === undefined) first = ms(s);
        },
      });
      return { fromSend: first, fromSpawn: first === undefined ? undefined : Math.round(s - t0) + first };
    };
    const first = await turn("conv-bench", "hello from the bench");
    stages.push(`first token ${sec(first.fromSpawn)}`);
    const warm = await turn("conv-bench-2", "a warm turn");
    return {
      label,
      readyMs,
      firstTokenMs: first.fromSpawn,
      afterWarmUpFirstTokenMs: prewarm ? first.fromSend : undefined,
      warmFirstTokenMs: warm.fromSend,
      warmUpMs,
      peakRss: sampler.stop(),
      stages: stages.join(", "),
    };
  } catch (err) {
    return { label, error: String(err), peakRss: sampler.stop() };
  } finally {
    await engine.stop(15_000);
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function benchGateway(llm: FakeLlm, cacheDir: string | undefined): Promise<Result> {
  const label = `bare \`openclaw gateway run\`, default config, ${cacheDir ? "warm" : "empty"} compile cache`;
  const stateDir = await mkdtemp(join(tmpdir(), "bench-gateway-"));
  const configPath = join(stateDir, "openclaw.json");
  // Default config: only what it takes to reach the fake LLM.
  writeFileSync(
    configPath,
    JSON.stringify({
      agents: { defaults: { model: { primary: "fake/fake-model" } } },
      models: {
        mode: "merge",
        providers: {
          fake: {
            baseUrl: `${llm.url}/v1`,
            apiKey: "sk-bench",
            api: "openai-completions",
            models: [
              {
                id: "fake-model",
                name: "Fake Model",
                reasoning: false,
                input: ["text"],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: 128000,
                maxTokens: 4096,
              },
            ],
          },
        },
      },
    }),
    { mode: 0o600 },
  );
  const port = await freePort();
  const token = newId();
  // Started the same way as our worker: same Node, same environment builder. Without a
  // cache dir it gets an empty one, as in a fresh container (OpenClaw's launcher caches there).
  const env = buildChildEnv(process.env, {
    stateDir,
    configPath,
    compileCacheDir: cacheDir ?? join(stateDir, ".compile-cache"),
  });
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      openclawBin,
      "gateway",
      "run",
      "--port",
      String(port),
      "--bind",
      "loopback",
      "--token",
      token,
      "--allow-unconfigured",
    ],
    { cwd: stateDir, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "ignore"] },
  );
  const sampler = rssSampler(() => child.pid);
  try {
    const conn = await waitForGateway(`ws://127.0.0.1:${port}`, token, 600_000);
    const readyMs = ms(t0);
    const sent = ms(t0);
    const first = await conn.chat("main", "hello from the bench");
    const warm = await conn.chat("bench-2", "a warm turn");
    conn.close();
    return {
      label,
      readyMs,
      firstTokenMs: sent + Math.round(first.firstTokenMs),
      warmFirstTokenMs: Math.round(warm.firstTokenMs),
      peakRss: sampler.stop(),
      stages: `ws ready ${sec(readyMs)}, first token ${sec(sent + first.firstTokenMs)}`,
    };
  } catch (err) {
    return { label, error: String(err), peakRss: sampler.stop() };
  } finally {
    // A hard deadline: the gateway may wait minutes draining a cron run on SIGTERM.
    await stopChild(child, 15_000);
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function benchFullRuntime(llm: FakeLlm, cacheDir: string): Promise<Result> {
  const label = "whole runtime (runner + engine), local launcher";
  execFileSync(process.execPath, [join(runtimeDir, "build.mjs")], { stdio: "pipe" });
  const tc = await startTestCloud();
  const ports = testPorts(tc.config);
  const userId = `bench-${newId().slice(-10)}`;
  const launcher = new ProcessRuntimeLauncher({
    stateDir: tc.cloud.info.stateDir,
    localCloudFile: tc.cloud.file,
    projectRoot: root,
    entry: "dist",
    env: { NODE_COMPILE_CACHE: cacheDir, RUNTIME_LOG_LEVEL: "info" },
  });
  const watcher = await new Watcher(tc.config, userId).start();
  let runtimePid: number | undefined;
  const sampler = rssSampler(() => runtimePid);
  try {
    await ports.settingsStore.putSettings(userId, {
      provider: "openai-compatible",
      model: "fake-model",
      baseUrl: `${llm.url}/v1`,
      idleTimeoutMinutes: 15,
      prewarm: false,
      runTimeoutSeconds: 300,
    });
    await ports.secrets.putSecret(userId, "llm-api-key", "sk-bench");
    const send = (text: string, conversationId?: string) =>
      sendMessage({ ...ports, launcher }, userId, { text, conversationId, idempotencyKey: newId() });
    /** ms from `t0` to the publish time of the reply's first delta (what a browser sees next). */
    const firstDelta = async (messageId: string, t0: number, timeoutMs: number) => {
      const done = (events: ChatEvent[]) =>
        events.some(
          (e) =>
            (e.type === "final" && e.message.replyTo === messageId) ||
            (e.type === "error" && e.replyTo === messageId),
        );
      await watcher.until(done, timeoutMs, "a reply");
      const runIds = new Set(
        watcher
          .of("run.started")
          .filter((e) => e.replyTo === messageId)
          .map((e) => e.runId),
      );
      const delta = watcher.of("delta").find((e) => runIds.has(e.runId));
      return delta ? Date.parse(delta.at) - t0 : undefined;
    };
    const t0 = Date.now();
    const p0 = performance.now();
    const first = await send("hello from the bench");
    const row = await ports.taskStates.get(userId);
    runtimePid = Number(/^local:(\d+)$/.exec(row.taskRef ?? "")?.[1]) || undefined;
    const firstTokenMs = await firstDelta(first.messageId, t0, 600_000);
    const t1 = Date.now();
    const warm = await send("a warm turn", first.conversationId);
    const warmMs = await firstDelta(warm.messageId, t1, 120_000);
    const log = readFileSync(launcher.logFile(userId), "utf8");
    const ready = log.split("\n").find((l) => l.includes('"runtime ready"')) ?? "";
    return {
      label,
      firstTokenMs,
      warmFirstTokenMs: warmMs,
      peakRss: sampler.stop(),
      stages: `send → first delta ${sec(firstTokenMs)} (wall ${sec(ms(p0))}); ${ready.slice(0, 400)}`,
    };
  } catch (err) {
    return { label, error: String(err), peakRss: sampler.stop() };
  } finally {
    if (runtimePid) {
      try {
        process.kill(runtimePid, "SIGTERM");
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          process.kill(runtimePid, 0);
          await new Promise((r) => setTimeout(r, 200));
        }
        process.kill(runtimePid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
    await watcher.close();
    await ports.close();
    await tc.close();
  }
}

// ---------- payload size ----------

function dirSize(dir: string, skip: (name: string) => boolean = () => false): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirSize(p, skip);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

function gzipSize(cwd: string, paths: string[], exclude: string[] = []): number {
  const out = execFileSync(
    "sh",
    [
      "-c",
      `tar -cf - ${exclude.map((e) => `--exclude='${e}'`).join(" ")} ${paths.map((p) => `'${p}'`).join(" ")} | gzip -6 | wc -c`,
    ],
    { cwd, maxBuffer: 1024 * 1024 },
  );
  return Number(String(out).trim());
}

function payloadSizes(): Array<[string, number, number]> {
  const rows: Array<[string, number, number]> = [];
  const node = process.execPath;
  rows.push(["Node binary", statSync(node).size, gzipSize("/", [node.slice(1)])]);
  const bundle = ["dist/main.js", "dist/openclaw-worker.js", "dist/openclaw-thread-preload.js"];
  if (!bundle.every((p) => existsSync(join(runtimeDir, p)))) {
    execFileSync(process.execPath, [join(runtimeDir, "build.mjs")], { stdio: "pipe" });
  }
  rows.push([
    "runtime bundle (dist/*.js)",
    bundle.reduce((n, p) => n + statSync(join(runtimeDir, p)).size, 0),
    gzipSize(runtimeDir, bundle),
  ]);
  // openclaw is the runtime's only dependency, so runtime/node_modules is all production.
  rows.push([
    "runtime/node_modules (openclaw and its tree)",
    dirSize(join(runtimeDir, "node_modules"), (n) => n === ".cache"),
    gzipSize(runtimeDir, ["node_modules"], ["node_modules/.cache"]),
  ]);
  return rows;
}

// ---------- main ----------

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const llm = await startFakeLlm();
  // The fake answers in 0.1 s, so the first token measures start-up, not the model.
  llm.setFallback((req) => ({ text: `You said: ${req.userText}`, chunks: 4, firstByteDelayMs: 100 }));
  const cacheDir = join(tmpdir(), "bench-runtime-compile-cache");
  await mkdir(cacheDir, { recursive: true });
  console.log(
    `bench:runtime on ${process.version}, ${rounds} round(s); load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  // What the image bakes: a compile cache holding everything a cold start loads.
  const p = performance.now();
  await primeCompileCache(cacheDir, process.env);
  console.log(`compile cache primed in ${sec(ms(p))}`);

  const results: Result[] = [];
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}: our engine ...`);
    results.push(await benchEngine(llm, cacheDir, "default"));
    console.log(`round ${r + 1}: our engine without the early pool start ...`);
    results.push(await benchEngine(llm, cacheDir, "no early pools"));
    console.log(`round ${r + 1}: our engine with Node's default V8 pool ...`);
    results.push(await benchEngine(llm, cacheDir, "node's v8 pool"));
    console.log(`round ${r + 1}: our engine with Node's own resolver ...`);
    results.push(await benchEngine(llm, cacheDir, "node's resolver"));
    if (!flag("--no-gateway")) {
      console.log(`round ${r + 1}: bare gateway, empty compile cache ...`);
      results.push(await benchGateway(llm, undefined));
      console.log(`round ${r + 1}: bare gateway, warm compile cache ...`);
      results.push(await benchGateway(llm, cacheDir));
    }
    console.log(`round ${r + 1}: our engine with warm-up ...`);
    results.push(await benchEngine(llm, cacheDir, "warm-up first"));
    if (!flag("--no-full")) {
      console.log(`round ${r + 1}: whole runtime ...`);
      results.push(await benchFullRuntime(llm, cacheDir));
    }
  }
  await llm.close();

  console.log("\nCold start (spawn → first streamed token; fake LLM answers in 0.1 s)\n");
  console.log(
    table([
      ["how", "ready", "first token", "warm-up", "1st token after warm-up", "warm turn", "peak RSS (tree)"],
      ...results.map((r) => [
        r.label,
        sec(r.readyMs),
        r.error ? `ERROR ${r.error.slice(0, 80)}` : sec(r.firstTokenMs),
        sec(r.warmUpMs),
        sec(r.afterWarmUpFirstTokenMs),
        sec(r.warmFirstTokenMs),
        mb(r.peakRss),
      ]),
    ]),
  );
  console.log("\nStages:");
  for (const r of results) if (r.stages) console.log(`- ${r.label}: ${r.stages}`);

  const pick = (label: string) =>
    median(
      results
        .filter((r) => r.label.startsWith(label) && r.firstTokenMs !== undefined)
        .map((r) => r.firstTokenMs as number),
    );
  const ours = pick(ENGINE_LABELS.default);
  const noPrewarm = pick(ENGINE_LABELS["no early pools"]);
  const nodePool = pick(ENGINE_LABELS["node's v8 pool"]);
  const nodeResolver = pick(ENGINE_LABELS["node's resolver"]);
  const full = pick("whole runtime");
  for (const cache of ["empty", "warm"]) {
    const gateway = pick(`bare \`openclaw gateway run\`, default config, ${cache}`);
    if (!Number.isFinite(gateway)) continue;
    console.log(
      `\nRatios against the bare gateway with ${cache === "empty" ? "an" : "a"} ${cache} compile cache (first token from spawn, medians):`,
    );
    console.log(`  our engine / gateway:     ${(ours / gateway).toFixed(2)}  (target ≤ 0.40)`);
    if (Number.isFinite(noPrewarm))
      console.log(`  … without the early pool start: ${(noPrewarm / gateway).toFixed(2)}`);
    if (Number.isFinite(nodePool))
      console.log(`  … with Node's default V8 pool: ${(nodePool / gateway).toFixed(2)}`);
    if (Number.isFinite(nodeResolver))
      console.log(`  … with Node's own resolver: ${(nodeResolver / gateway).toFixed(2)}`);
    if (Number.isFinite(full)) console.log(`  whole runtime / gateway:  ${(full / gateway).toFixed(2)}`);
  }

  if (!flag("--no-size")) {
    console.log("\nRuntime payload (what the image holds besides the base OS)\n");
    const rows = payloadSizes();
    const total: [string, number, number] = [
      "total",
      rows.reduce((n, r) => n + r[1], 0),
      rows.reduce((n, r) => n + r[2], 0),
    ];
    console.log(
      table([["part", "raw", "gzip -6"], ...[...rows, total].map(([n, a, b]) => [n, mb(a), mb(b)])]),
    );
  }
}

await main();
// The fake LLM's and the local cloud's handles are closed; leftover timers must not keep us alive.
process.exit(0);
