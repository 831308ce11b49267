import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createAdapters } from "../adapters";
import { configFromLocalCloud } from "../env";
import { errorMessage } from "../errors";
import { type LocalCloud, startLocalCloud } from "./cloud";
import { HOST as APP_HOST, APP_PORT, assertPortsFree, DEFAULT_PORTS, DEV_PORTS } from "./ports";

/*
 * `npm run dev`: starts the local cloud with its state in `.local/`, then `next dev` on
 * 127.0.0.1:3000 with LOCAL_CLOUD_FILE pointing at `.local/cloud.json`. Ctrl-C (or
 * SIGTERM) stops Next.js and the runtimes, waits for the runtimes to finish or hand back
 * their turn, upload their state and mark their rows, and only then stops the local cloud
 * they write to. A second Ctrl-C stops everything at once. `npm run dev --
 * --reset` wipes the state first (a new user pool, a new first user, empty tables).
 */

const APP_URL = `http://localhost:${APP_PORT}`;
/** Longer than a runtime's own graceful-stop budget (25 s by default), so it can finish. */
const STOP_DEADLINE_MS = 30_000;

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const stateDir = join(root, ".local");

function usage(): never {
  console.error("usage: npm run dev [-- --reset]\n  --reset   wipe the local state (.local/) first");
  process.exit(2);
}

function banner(cloud: LocalCloud): string {
  const rel = (p: string) => relative(process.cwd(), p) || ".";
  const lines = [
    "",
    "  serverless-openclaw, local mode",
    "",
    `  App        ${APP_URL}`,
    cloud.firstStart
      ? `  Sign in    ${cloud.firstUser.email}  /  ${cloud.firstUser.password}`
      : `  Sign in    ${cloud.firstUser.email}  (password in ${rel(join(cloud.info.stateDir, "first-user.json"))})`,
    `  Services   DynamoDB ${cloud.info.dynamodb.endpoint}  Events ${cloud.info.events.httpEndpoint}  Cognito ${cloud.info.cognito.endpoint}`,
    `  State      ${rel(cloud.info.stateDir)}/  (endpoints: ${rel(cloud.file)}; wipe with npm run dev -- --reset)`,
    "",
  ];
  if (cloud.firstStart) lines.splice(5, 0, "             (shown once; also kept in .local/first-user.json)");
  return lines.join("\n");
}

/**
 * `next dev` compiles a page or route on its first request, which made the first message,
 * the first Stop and the first settings save wait seconds. Once the server answers, each is
 * requested once without a session (a 401 or a sign-in page, nothing is done), in the
 * background.
 */
const COMPILE_AHEAD = [
  "/api/chat",
  "/api/config",
  "/api/runtime/warm",
  "/api/runtime/status",
  "/api/conversations",
  "/api/conversations/0/messages",
  "/api/conversations/0/stop",
  "/api/settings",
  "/api/conversations/0/messages/0/retry",
  "/",
  "/settings",
];

async function compileAhead(): Promise<void> {
  const base = `http://${APP_HOST}:${APP_PORT}`;
  const request = (path: string, method = "GET") =>
    fetch(`${base}${path}`, { method, redirect: "manual" }).then(
      async (r) => {
        await r.body?.cancel();
        return true;
      },
      () => false, // not up yet, or stopping: both fine
    );
  for (let i = 0; i < 120 && !(await request("/api/health")); i++)
    await new Promise((r) => setTimeout(r, 500));
  for (const path of COMPILE_AHEAD) await request(path, path.startsWith("/api/") ? "POST" : "GET");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== "--reset")) usage();
  const reset = args.includes("--reset");

  try {
    await assertPortsFree(DEV_PORTS, "npm run dev");
  } catch (err) {
    console.error(errorMessage(err));
    process.exit(1);
  }

  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      stateDir,
      reset,
      appUrl: APP_URL,
      log: (line) => console.log(`[events] ${line}`),
    });
  } catch (err) {
    console.error(`npm run dev: ${errorMessage(err)}`);
    console.error(
      `(the local cloud uses ports ${Object.entries(DEFAULT_PORTS)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}; see docs/local-mode.md)`,
    );
    process.exit(1);
  }
  console.log(banner(cloud));

  const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");
  // Its own process group, so that stopping reaches every process Next.js started.
  const child: ChildProcess = spawn(
    process.execPath,
    [nextBin, "dev", "--hostname", APP_HOST, "--port", String(APP_PORT)],
    {
      cwd: root,
      stdio: "inherit",
      detached: true,
      env: { ...process.env, LOCAL_CLOUD_FILE: cloud.file, NEXT_TELEMETRY_DISABLED: "1" },
    },
  );
  void compileAhead();
  const exited = new Promise<number>((done) => {
    child.once("exit", (code, signal) => done(code ?? (signal ? 1 : 0)));
  });

  const killNext = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };

  // The runtimes run in process groups of their own (the local launcher's choice), so that
  // stopping Next.js cannot cut their shutdown short; they are found through their rows.
  const adapters = createAdapters(configFromLocalCloud(cloud.info, cloud.file));
  const stopRuntimes = async (until: number): Promise<number> => {
    const refs = (await adapters.taskStates.listActive().catch(() => []))
      .map((row) => row.taskRef)
      .filter((ref): ref is string => ref?.startsWith("local:") ?? false);
    await Promise.all(
      refs.map((ref) => adapters.launcher.stop(ref, "npm run dev stopped").catch(() => undefined)),
    );
    let alive = refs;
    while (alive.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      const checks = await Promise.all(alive.map((ref) => adapters.launcher.isAlive(ref)));
      alive = alive.filter((_, i) => checks[i]);
    }
    return alive.length;
  };

  let stoppingSince = 0;
  const stop = async (why: string, code: number) => {
    if (stoppingSince > 0) {
      // One Ctrl-C reaches this process twice (from the terminal and relayed by npm and
      // tsx); only a second press, a moment later, means "do not wait any longer".
      if (Date.now() - stoppingSince < 1_000) return;
      killNext("SIGKILL");
      await cloud.close();
      process.exit(1);
    }
    stoppingSince = Date.now();
    console.log(`\nnpm run dev: ${why}, stopping (the agent finishes or hands back its turn first)…`);
    const began = Date.now();
    killNext("SIGTERM");
    const [left] = await Promise.all([stopRuntimes(began + STOP_DEADLINE_MS), exited]);
    // A runtime still running is left to end on its own; its row names a process that the
    // next start finds gone (or still stopping), so nothing waits on it.
    if (left > 0)
      console.log(`npm run dev: ${left} runtime(s) still stopping after ${STOP_DEADLINE_MS / 1000} s`);
    killNext("SIGKILL"); // stragglers of Next.js that ignored SIGTERM
    await cloud.close();
    console.log(`npm run dev: stopped in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    process.exit(code);
  };

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => void stop(`received ${signal}`, 0));
  }
  const code = await exited;
  if (stoppingSince === 0) await stop(`next dev exited with code ${code}`, code === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error("npm run dev failed:", err);
  process.exit(1);
});
