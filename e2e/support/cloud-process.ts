/*
 * The local cloud in a process of its own, for benchmarks: in production DynamoDB and
 * AppSync Events are separate services, and under `npm run dev` the runtime is a separate
 * process, so a benchmark that runs the runner in its own process must not also serve the
 * store and the events from that process's event loop.
 *
 *   startCloudProcess({ stateDir, appUrl }) → { info, file, firstUser, stop() }
 *
 * The child is this file run with tsx; it reports over IPC and exits when its parent
 * disconnects or stops it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { LocalCloudInfo } from "../../lib/env";
import { errorMessage } from "../../lib/errors";
import type { LocalCloud } from "../../lib/local-cloud/cloud";

export interface CloudProcess {
  info: LocalCloudInfo;
  file: string;
  firstUser: LocalCloud["firstUser"];
  pid: number;
  stop(): Promise<void>;
}

type Ready = { type: "ready"; info: LocalCloudInfo; file: string; firstUser: LocalCloud["firstUser"] };
type Failed = { type: "failed"; message: string };

const self = fileURLToPath(import.meta.url);

export async function startCloudProcess(opts: { stateDir: string; appUrl?: string }): Promise<CloudProcess> {
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  const child: ChildProcess = fork(tsx, [self, "--child"], {
    env: { ...process.env, CLOUD_STATE_DIR: opts.stateDir, CLOUD_APP_URL: opts.appUrl ?? "" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once("message", (m: Ready | Failed) =>
      m.type === "ready" ? resolve(m) : reject(new Error(`local cloud: ${m.message}`)),
    );
    child.once("exit", (code) => reject(new Error(`local cloud exited with ${code} before it was ready`)));
  });
  const pid = child.pid as number;
  return {
    info: ready.info,
    file: ready.file,
    firstUser: ready.firstUser,
    pid,
    stop: () => stopChild(child, 10_000),
  };
}

/** SIGTERM to a child this process started, SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(killer);
}

async function child(): Promise<void> {
  const { startLocalCloud } = await import("../../lib/local-cloud/cloud");
  const send = (m: Ready | Failed) => process.send?.(m);
  try {
    const cloud = await startLocalCloud({
      stateDir: process.env.CLOUD_STATE_DIR as string,
      ports: { dynamodb: 0, events: 0, cognito: 0 },
      ...(process.env.CLOUD_APP_URL ? { appUrl: process.env.CLOUD_APP_URL } : {}),
    });
    const stop = () => void cloud.close().finally(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("disconnect", stop);
    send({ type: "ready", info: cloud.info, file: cloud.file, firstUser: cloud.firstUser });
  } catch (err) {
    send({ type: "failed", message: errorMessage(err) });
    process.exit(1);
  }
}

if (process.argv.includes("--child") && process.argv[1] === self) await child();
