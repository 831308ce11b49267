import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentEngine, EngineEvent, EngineSettings, RunRequest } from "../engine";
import { EngineError, isRunning } from "../engine";
import { buildChildEnv } from "./child-env";
import { type OpenClawConfigOptions, PROVIDER_IDS, writeOpenClawConfig } from "./config";
import {
  abortedError,
  classifyOpenClawError,
  missingApiKeyError,
  pausedKeyError,
  runTimeoutError,
} from "./errors";
import { type FromWorker, fromWorkerSchema, type ToWorker, toOpenClawSessionKey } from "./protocol";
import { checkpointSqliteFiles } from "./sqlite";

export interface OpenClawEngineOptions {
  /** OpenClaw's state folder: config, SQLite databases, workspace, skills, logs. */
  stateDir: string;
  settings: EngineSettings;
  /**
   * The runtime's environment. The child gets only an allowlisted part of it (no AWS_*, no
   * ECS_*, no tokens): see buildChildEnv.
   */
  parentEnv: Readonly<Record<string, string | undefined>>;
  /** Node's compile cache for the child (default `$TMPDIR/node-compile-cache`; the image bakes a warm one). */
  compileCacheDir?: string;
  /** Tool policy and plugin allowlist (defaults in ./config). */
  config?: Omit<OpenClawConfigOptions, "stateDir">;
  /**
   * The worker script. Default: `openclaw-worker.js` next to this module when bundled, or a
   * bundle of ./worker.ts built on start when running from source (see buildWorkerBundle).
   */
  worker?: { path: string; execArgv?: string[] };
  /**
   * What warmUp() does. `prepare-only` (default): OpenClaw prepares a whole turn (tools,
   * system prompt, session) and the run stops as the model call starts, so warming costs no
   * tokens. `full`: one real, tiny LLM call.
   */
  warmUp?: "prepare-only" | "full";
  /** Receives each line the child prints (also written to `<stateDir>/logs/worker.log`). */
  onLog?: (line: string) => void;
}

/**
 * Not part of the engine's options: the cold-start benchmark's way to start the child
 * without one of the product's start-up measures (the early pool start and the resolve
 * fast path, which the worker skips when OPENCLAW_WORKER_PREWARM or
 * OPENCLAW_WORKER_FAST_RESOLVE is "0"; the V8 pool size in childNodeFlags), to show what
 * each one saves.
 */
export interface EngineBenchHooks {
  /** Added to the child's environment (checked against buildChildEnv's deny list). */
  childEnv?: Record<string, string>;
  /** Node's flags for the child in place of childNodeFlags(). */
  nodeFlags?: string[];
}

interface PendingRun {
  resolve: (r: { text: string }) => void;
  reject: (e: EngineError) => void;
  onEvent: (e: EngineEvent) => void;
  settled: boolean;
  /** The worker finished the run (after an abort this comes later than the rejection). */
  ended: () => void;
}

/**
 * The session warmUp() uses on a given day (UTC); never a conversation. Each warm-up adds
 * its prompt to the session's transcript, and OpenClaw has no public call that clears one.
 * With a single session that transcript would grow for the life of a deployment (every
 * keep-warm turn while idle adds a message), every warm-up would prepare all of it, and
 * after some thousands of warm-ups it would outgrow the model's context window. A session
 * per day stays small, and the old ones are never opened again.
 */
export function warmUpSessionKey(at: Date = new Date()): string {
  return `warmup-${at.toISOString().slice(0, 10)}`;
}
/** Cheap prompt for the warm-up turn (one LLM call with OpenClaw's full system prompt). */
export const WARMUP_PROMPT = "Reply with the single word OK.";

/**
 * Threads for V8's background pool (concurrent compilation and garbage collection) in the
 * OpenClaw child: one fewer than the CPUs the process may use, and at least one. Node's
 * default is 4 whatever the machine. During a first turn OpenClaw runs its main thread and
 * up to eight worker threads of its own, so on a small machine (the Fargate task has 1
 * vCPU by default) four more threads only add contention; the cold-start benchmark
 * (`npm run bench:runtime`) shows the difference against Node's default.
 */
export function v8PoolSizeFor(parallelism: number): number {
  return Math.max(1, Math.floor(parallelism) - 1);
}

/** Node's flags for the OpenClaw child, before the worker's own ones. */
export function childNodeFlags(v8PoolSize: number = v8PoolSizeFor(availableParallelism())): string[] {
  if (!(Number.isInteger(v8PoolSize) && v8PoolSize >= 1))
    throw new Error(`v8PoolSize must be a whole number of at least 1, not ${v8PoolSize}`);
  return [
    // Fewer scavenges while OpenClaw builds its module graphs.
    "--max-semi-space-size=64",
    `--v8-pool-size=${v8PoolSize}`,
  ];
}

/** The runtime package folder (holds node_modules/openclaw). */
const RUNTIME_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Bundles ./worker.ts into one ESM file with `openclaw` left external, and next to it, with
 * the same extension, the preload for OpenClaw's threads (./thread-preload.ts). The worker
 * must run on plain Node: a TypeScript loader such as tsx changes how OpenClaw's own
 * dependencies resolve (memory-core then fails to load). runtime/build.mjs builds the same
 * two files for the image.
 */
export async function buildWorkerBundle(outfile: string): Promise<string> {
  const esbuild = await import("esbuild");
  const ext = extname(outfile);
  await esbuild.build({
    entryPoints: [
      { in: fileURLToPath(new URL("./worker.ts", import.meta.url)), out: basename(outfile, ext) },
      { in: fileURLToPath(new URL("./thread-preload.ts", import.meta.url)), out: "openclaw-thread-preload" },
    ],
    outdir: dirname(outfile),
    outExtension: { ".js": ext },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    external: ["openclaw", "openclaw/*"],
    logLevel: "warning",
  });
  return outfile;
}

async function defaultWorker(): Promise<{ path: string; execArgv: string[]; builtIn?: string }> {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    // From source: bundle next to OpenClaw so that `import "openclaw"` resolves as in
    // production, in a folder of this start's own: checkouts sharing one node_modules (git
    // worktrees) and test files running side by side would otherwise replace each other's
    // bundle between its build and its start.
    const cache = join(RUNTIME_ROOT, "node_modules", ".cache", "serverless-openclaw");
    await mkdir(cache, { recursive: true });
    const dir = await mkdtemp(join(cache, "worker-"));
    return { path: await buildWorkerBundle(join(dir, "openclaw-worker.mjs")), execArgv: [], builtIn: dir };
  }
  return { path: join(dirname(here), "openclaw-worker.js"), execArgv: [] };
}

/**
 * Runs OpenClaw in a child process (./worker.ts) that calls the public `getReplyFromConfig`
 * in-process. One instance per runtime; runs in different sessions may overlap.
 */
export class OpenClawEngine implements AgentEngine {
  private settings: EngineSettings;
  private child: ChildProcess | undefined;
  private readonly runs = new Map<string, PendingRun>();
  /**
   * Per session, the end of its last run in the worker. A run waits for it: OpenClaw would
   * otherwise steer a message into a run that is still winding down after an abort.
   */
  private readonly sessionTails = new Map<string, Promise<void>>();
  private readonly waiters = new Set<(m: FromWorker) => void>();
  private logStream: WriteStream | undefined;
  private readonly recentLines: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  /** The folder of a worker bundle built for this start (from source), removed on stop. */
  private workerBuild: string | undefined;

  constructor(
    private readonly options: OpenClawEngineOptions,
    private readonly bench: EngineBenchHooks = {},
  ) {
    this.settings = options.settings;
  }

  async start(onStage?: (stage: string) => void): Promise<void> {
    if (this.child) throw new Error("OpenClawEngine already started");
    const { stateDir } = this.options;
    await mkdir(join(stateDir, "home"), { recursive: true });
    const configPath = await this.writeConfig();
    onStage?.("config-written");

    const compileCacheDir = this.options.compileCacheDir ?? join(tmpdir(), "node-compile-cache");
    const env = buildChildEnv(this.options.parentEnv, {
      stateDir,
      configPath,
      compileCacheDir,
      extra: {
        HOME: join(stateDir, "home"),
        ...this.bench.childEnv,
      },
    });
    let worker = this.options.worker;
    if (!worker) {
      const built = await defaultWorker();
      this.workerBuild = built.builtIn;
      worker = built;
    }
    onStage?.("worker-ready");
    this.logStream = createWriteStream(join(stateDir, "logs", "worker.log"), { flags: "a", mode: 0o600 });
    const child = spawn(
      process.execPath,
      [...(this.bench.nodeFlags ?? childNodeFlags()), ...(worker.execArgv ?? []), worker.path],
      {
        cwd: stateDir,
        env: env as NodeJS.ProcessEnv,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      },
    );
    this.child = child;
    onStage?.("spawned");
    this.pipeLines(child.stdout);
    this.pipeLines(child.stderr);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (raw) => this.onMessage(raw));
    child.once("exit", (code, signal) => this.onExit(code, signal));

    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === "stage") onStage?.(`openclaw-${m.stage}`);
        else if (m.type === "ready") done();
        else if (m.type === "fatal")
          done(new EngineError("runtime_failed", `OpenClaw could not start: ${m.message}`));
      };
      const onExit = () =>
        done(new EngineError("runtime_failed", `OpenClaw exited during start-up: ${this.tail()}`));
      const done = (err?: Error) => {
        this.waiters.delete(onMsg);
        child.off("exit", onExit);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(onMsg);
      child.once("exit", onExit);
    });
    onStage?.("ready");
  }

  async warmUp(): Promise<void> {
    // Without a key the turn could only fail; the first real turn reports the missing key.
    if (!this.settings.apiKey) return;
    const prepareOnly = (this.options.warmUp ?? "prepare-only") === "prepare-only";
    try {
      await this.startRun(
        {
          sessionKey: warmUpSessionKey(),
          text: WARMUP_PROMPT,
          signal: new AbortController().signal,
          onEvent: () => {},
        },
        prepareOnly,
      );
    } catch (err) {
      if (prepareOnly && err instanceof EngineError && err.code === "aborted") return;
      // A failing provider shows up on the user's turn with a proper error; warming is best effort.
      this.log(`warm-up turn failed: ${err instanceof EngineError ? err.code : String(err)}`);
    }
  }

  run(request: RunRequest): Promise<{ text: string }> {
    return this.startRun(request, false);
  }

  private startRun(request: RunRequest, stopBeforeModel: boolean): Promise<{ text: string }> {
    const { settings } = this;
    if (!settings.apiKey) return Promise.reject(missingApiKeyError(settings.provider));
    if (request.signal.aborted) return Promise.reject(abortedError());
    const child = this.child;
    if (!child?.connected) {
      return Promise.reject(
        new EngineError("runtime_failed", "The agent is not running. Try again in a moment."),
      );
    }
    const runId = randomUUID();
    const sessionKey = toOpenClawSessionKey(request.sessionKey);
    const previous = this.sessionTails.get(sessionKey) ?? Promise.resolve();
    let ended: () => void = () => {};
    const tail = new Promise<void>((r) => {
      ended = r;
    });
    this.sessionTails.set(sessionKey, tail);
    void tail.then(() => {
      if (this.sessionTails.get(sessionKey) === tail) this.sessionTails.delete(sessionKey);
    });
    return new Promise((resolve, reject) => {
      const pending: PendingRun = {
        settled: false,
        onEvent: request.onEvent,
        resolve: (r) => finish(() => resolve(r)),
        reject: (e) => finish(() => reject(e)),
        ended,
      };
      // OpenClaw enforces the run timeout itself; this guard only catches a run that ignores it.
      const guard = setTimeout(
        () => {
          this.send({ type: "abort", runId });
          pending.reject(runTimeoutError(settings.runTimeoutSeconds));
        },
        (settings.runTimeoutSeconds + 30) * 1000,
      );
      const onAbort = () => {
        this.send({ type: "abort", runId });
        pending.reject(abortedError());
      };
      const finish = (settle: () => void) => {
        if (pending.settled) return;
        pending.settled = true;
        clearTimeout(guard);
        request.signal.removeEventListener("abort", onAbort);
        // Keep the entry until the worker reports the end, so late events are dropped quietly.
        settle();
      };
      request.signal.addEventListener("abort", onAbort, { once: true });
      this.runs.set(runId, pending);
      // Bounded: a run that never reports its end must not block the conversation for good.
      const waited = Promise.race([previous, new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
      void waited.then(() => {
        if (pending.settled) {
          // Aborted while waiting: the worker never heard of this run.
          this.runs.delete(runId);
          ended();
          return;
        }
        this.send({
          type: "run",
          runId,
          sessionKey,
          text: request.text,
          providerId: PROVIDER_IDS[settings.provider],
          timeoutSeconds: settings.runTimeoutSeconds,
          ...(stopBeforeModel ? { stopBeforeModel } : {}),
        });
      });
    });
  }

  async applySettings(settings: EngineSettings): Promise<void> {
    this.settings = settings;
    await this.writeConfig();
    const child = this.child;
    if (!child?.connected) return;
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === "reloaded") done();
        else if (m.type === "fatal") done(new EngineError("runtime_failed", m.message));
      };
      const timer = setTimeout(
        () => done(new EngineError("runtime_failed", "OpenClaw did not reload its config")),
        30_000,
      );
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(onMsg);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(onMsg);
      this.send({ type: "reload" });
    });
  }

  async stop(deadlineMs: number): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      this.send({ type: "shutdown" });
      const killer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadlineMs));
      await this.exited;
      clearTimeout(killer);
    }
    this.child = undefined;
    if (this.workerBuild) await rm(this.workerBuild, { recursive: true, force: true });
    this.workerBuild = undefined;
    await new Promise<void>((resolve) => (this.logStream ? this.logStream.end(resolve) : resolve()));
    this.logStream = undefined;
    // Fold the write-ahead logs into the database files so a plain copy of the folder is complete.
    await checkpointSqliteFiles(this.options.stateDir, (line) => this.log(line));
  }

  pids(): number[] {
    const pid = this.child?.pid;
    return pid !== undefined && this.child && isRunning(this.child) ? [pid] : [];
  }

  private async writeConfig(): Promise<string> {
    return writeOpenClawConfig(this.settings, { ...this.options.config, stateDir: this.options.stateDir });
  }

  private send(message: ToWorker): void {
    if (this.child?.connected) this.child.send(message);
  }

  private onMessage(raw: unknown): void {
    const parsed = fromWorkerSchema.safeParse(raw);
    if (!parsed.success) {
      this.log(`ignored a malformed worker message: ${parsed.error.message}`);
      return;
    }
    const m = parsed.data;
    for (const w of [...this.waiters]) w(m);
    if (m.type !== "event" && m.type !== "done" && m.type !== "failed") return;
    const run = this.runs.get(m.runId);
    if (!run) return;
    if (m.type === "event") {
      if (!run.settled) run.onEvent(m.event);
      return;
    }
    this.runs.delete(m.runId);
    run.ended();
    const { provider, runTimeoutSeconds } = this.settings;
    if (m.type === "failed") {
      run.reject(
        m.keyPaused
          ? pausedKeyError(m.keyPaused, provider, m.message)
          : classifyOpenClawError(m.message, provider, runTimeoutSeconds),
      );
    } else if (m.aborted) {
      run.reject(abortedError());
    } else if (m.isError) {
      run.reject(
        m.keyPaused
          ? pausedKeyError(m.keyPaused, provider, m.text)
          : classifyOpenClawError(m.text, provider, runTimeoutSeconds),
      );
    } else {
      run.resolve({ text: m.text });
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.log(`worker exited (code ${code}, signal ${signal})`);
    for (const run of this.runs.values()) {
      run.reject(
        new EngineError("runtime_failed", "The agent process stopped unexpectedly. Send the message again."),
      );
      run.ended();
    }
    this.runs.clear();
  }

  private pipeLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        this.log(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    });
    stream.on("end", () => {
      if (buf) this.log(buf);
    });
  }

  private log(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > 20) this.recentLines.shift();
    this.logStream?.write(`${line}\n`);
    this.options.onLog?.(line);
  }

  private tail(): string {
    return this.recentLines.slice(-5).join(" | ").slice(0, 1000) || "no output";
  }
}

/**
 * Fills a Node compile cache with everything a cold start loads, including OpenClaw's lazily
 * imported agent runtime (importing `openclaw` alone covers about half). For image builds:
 * it runs a prepare-only warm-up against a placeholder provider, so no network is needed.
 */
export async function primeCompileCache(
  compileCacheDir: string,
  parentEnv: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), "openclaw-prime-"));
  const engine = new OpenClawEngine({
    stateDir,
    parentEnv,
    compileCacheDir,
    warmUp: "prepare-only",
    settings: {
      provider: "openai-compatible",
      model: "prime",
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "prime",
      runTimeoutSeconds: 60,
    },
  });
  try {
    await engine.start();
    await engine.warmUp();
  } finally {
    // The worker writes the cache when it exits normally.
    await engine.stop(30_000);
    await rm(stateDir, { recursive: true, force: true });
  }
}
