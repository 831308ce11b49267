import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

/*
 * The Next.js app as a production build for browser tests and benchmarks: `next build`
 * into `.next/e2e` (so it never clobbers a developer's `.next`), then `next start` on
 * 127.0.0.1 with the local cloud file. Stopped by pid.
 */

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const E2E_DIST_DIR = ".next/e2e";
const NEXT_BIN = join(ROOT, "node_modules", "next", "dist", "bin", "next");

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Only for processes we started (or our app launched). */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && isRunning(pid)) await new Promise((r) => setTimeout(r, 100));
  if (isRunning(pid)) process.kill(pid, "SIGKILL");
}

export interface AppServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function appEnv(cloudFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NEXT_DIST_DIR: E2E_DIST_DIR,
    NEXT_SKIP_TYPECHECK: "1",
    NEXT_TELEMETRY_DISABLED: "1",
    APP_MODE: "local",
    LOCAL_CLOUD_FILE: cloudFile,
  };
}

/** Builds unless `reuse` is set and a build exists. */
export function buildApp(opts: { cloudFile: string; reuse: boolean }): void {
  if (opts.reuse && existsSync(join(ROOT, E2E_DIST_DIR, "BUILD_ID"))) return;
  console.log("[app] next build …");
  const build = spawnSync(process.execPath, [NEXT_BIN, "build"], {
    cwd: ROOT,
    env: appEnv(opts.cloudFile),
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error(`next build failed with ${build.status}`);
}

async function waitHealthy(url: string, timeoutMs: number, child: ChildProcess, log: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) {
      throw new Error(`next start exited with ${child.exitCode}:\n${readFileSync(log, "utf8").slice(-3000)}`);
    }
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${readFileSync(log, "utf8").slice(-3000)}`);
}

/** `next start` on 127.0.0.1:`port`, logging to `logFile`; resolves once /api/health answers. */
export async function startApp(opts: {
  cloudFile: string;
  port: number;
  logFile: string;
}): Promise<AppServer> {
  const out = openSync(opts.logFile, "a");
  const child = spawn(process.execPath, [NEXT_BIN, "start", "-H", "127.0.0.1", "-p", String(opts.port)], {
    cwd: ROOT,
    env: appEnv(opts.cloudFile),
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start next");
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await waitHealthy(`${url}/api/health`, 90_000, child, opts.logFile);
  } catch (err) {
    await stopPid(pid, 5_000);
    throw err;
  }
  return { url, pid, stop: () => stopPid(pid, 5_000) };
}
