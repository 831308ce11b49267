import { writeFileSync } from "node:fs";
import { createAdapters } from "../../lib/adapters";
import { takeHandedOffEnv } from "./credential-handoff";
import { loadRuntimeEnv, type RuntimeEnv } from "./env";
import { OpenClawEngine } from "./openclaw";
import { createLogger, describeError, type Logger } from "./runner/log";
import { Runner } from "./runner/runner";

/*
 * The runtime's entry point (the container's command, and what the local launcher spawns):
 * validate the environment, compose the adapters, run the runner until it stops (idle
 * timeout, SIGTERM, a shutdown request), exit with its code.
 */

async function main(): Promise<number> {
  let env: RuntimeEnv;
  try {
    // In ECS the entry point hands the credential path over on fd 3 (entrypoint.sh).
    takeHandedOffEnv();
    env = loadRuntimeEnv();
  } catch (err) {
    // One line, no stack: this is a configuration mistake, not a crash.
    process.stderr.write(`runtime: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const log = createLogger(env.logLevel);
  const taskRef = await ownTaskRef(env, log);
  log("info", "runtime starting", {
    userId: env.userId,
    workerId: env.workerId,
    taskRef,
    mode: env.config.mode,
  });

  let runner: Runner | undefined;
  const adapters = createAdapters(env.config);
  const subscriber = adapters.subscriber({
    onReconnect: () => runner?.wake(),
    log: (line) => log("debug", line),
  });
  const { chatStore, settingsStore, taskStates, queue, blobs, secrets, publisher } = adapters;
  runner = new Runner(
    { chatStore, settingsStore, taskStates, queue, blobs, secrets, publisher, subscriber },
    {
      userId: env.userId,
      workerId: env.workerId,
      taskRef,
      stateDir: env.stateDir,
      scratchDir: `${env.stateDir}.snapshots`,
      createEngine: (settings) =>
        new OpenClawEngine({
          stateDir: env.stateDir,
          settings,
          // The engine hands OpenClaw an allowlisted part of this only (no AWS_*, no tokens).
          parentEnv: process.env,
          compileCacheDir: env.compileCacheDir,
          onLog: (line) => log("debug", "openclaw", { line: line.slice(0, 2_000) }),
        }),
      log,
      pollMs: env.pollMs,
      heartbeatMs: env.heartbeatMs,
      leaseMs: env.leaseMs,
      syncMs: env.syncMs,
      idleTimeoutMs: env.idleTimeoutMs,
      shutdownMs: env.shutdownMs,
      maxConcurrentRuns: env.maxConcurrentRuns,
    },
  );
  const r = runner;

  const onSignal = (signal: NodeJS.Signals) => {
    log("info", "signal received", { signal });
    // A hard deadline in case something hangs; the runner aims to finish well before it.
    setTimeout(() => {
      log("error", "graceful stop overran its deadline; exiting");
      process.exit(1);
    }, env.shutdownMs + 5_000).unref();
    void r.stop(signal);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  process.on("uncaughtException", (err) => {
    log("error", "uncaught exception", { error: describeError(err) });
    void r.stop("crashed", { exitCode: 1 });
  });
  process.on("unhandledRejection", (err) => {
    log("error", "unhandled rejection", { error: describeError(err) });
  });

  const health = setInterval(() => touchHealth(env.healthFile, r, log), 5_000);
  touchHealth(env.healthFile, r, log);

  try {
    await r.start();
  } catch {
    // start() has already stopped the runner and logged why; `stopped` carries the exit code.
  }
  const result = await r.stopped;
  clearInterval(health);
  await subscriber.close().catch(() => undefined);
  log("info", "runtime exiting", { reason: result.reason, exitCode: result.exitCode });
  return result.exitCode;
}

/** `local:<pid>` in local mode (what the process launcher records); the task ARN on ECS. */
async function ownTaskRef(env: RuntimeEnv, log: Logger): Promise<string | undefined> {
  if (env.config.mode === "local") return `local:${process.pid}`;
  if (!env.ecsMetadataUri) return undefined;
  try {
    const res = await fetch(`${env.ecsMetadataUri}/task`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) throw new Error(`metadata endpoint answered ${res.status}`);
    const body = (await res.json()) as { TaskARN?: unknown };
    return typeof body.TaskARN === "string" ? body.TaskARN : undefined;
  } catch (err) {
    log("warn", "could not read the task ARN from the ECS metadata endpoint", { error: describeError(err) });
    return undefined;
  }
}

function touchHealth(file: string, runner: Runner, log: Logger): void {
  if (runner.state === "stopped") return;
  try {
    writeFileSync(file, `${new Date().toISOString()} ${runner.state}\n`);
  } catch (err) {
    log("warn", "could not write the health file", { error: describeError(err) });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`runtime: fatal: ${describeError(err)}\n`);
    process.exit(1);
  },
);
