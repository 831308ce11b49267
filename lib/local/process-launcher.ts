import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LaunchResult, RuntimeLauncher } from "../ports";

export interface ProcessRuntimeLauncherOptions {
  /** The local state folder; each user's runtime gets `runtime/<userId>/` inside it. */
  stateDir: string;
  /** The local cloud file (`cloud.json`), handed to the runtime as LOCAL_CLOUD_FILE. */
  localCloudFile: string;
  /** The repository root, where `runtime/` lives. Default: the current directory. */
  projectRoot?: string;
  /**
   * `dist` runs the esbuild bundle (`runtime/dist/main.js`, what the image runs; build it
   * with `node runtime/build.mjs`); `source` runs `runtime/src/main.ts` through tsx, so
   * edits apply on the next start. Default: `source`.
   */
  entry?: "dist" | "source";
  /** Extra environment for the runtime (tests shorten its timings). */
  env?: Record<string, string>;
  /** The Node binary. Default: the one running this process (Node 24 is checked at install). */
  nodePath?: string;
}

/** The environment variables a child keeps from ours: enough for Node to run, no credentials. */
const INHERITED = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "TERM"];

/**
 * The local RuntimeLauncher: runs the user's runtime as a child process with the same
 * environment contract as the container (`APP_MODE=local`, `LOCAL_CLOUD_FILE`,
 * `RUNTIME_USER_ID`, its own state folder), logging to `runtime/<userId>/runtime.log` in
 * the local state folder. `taskRef` is `local:<pid>`. The child keeps running if this
 * process reloads (Next.js dev), so isAlive and stop also accept pids of runtimes started
 * by an earlier process, checked against their command line.
 */
export class ProcessRuntimeLauncher implements RuntimeLauncher {
  private readonly children = new Map<number, ChildProcess>();
  private readonly root: string;

  constructor(private readonly opts: ProcessRuntimeLauncherOptions) {
    this.root = resolve(opts.projectRoot ?? process.cwd());
  }

  /** Folder of one user's runtime: its log file and OpenClaw state. */
  userDir(userId: string): string {
    if (!/^[A-Za-z0-9-]{1,50}$/.test(userId)) throw new Error("invalid user id");
    return join(resolve(this.opts.stateDir), "runtime", userId);
  }

  logFile(userId: string): string {
    return join(this.userDir(userId), "runtime.log");
  }

  async launch(userId: string): Promise<LaunchResult> {
    const dir = this.userDir(userId);
    mkdirSync(dir, { recursive: true });
    const env: Record<string, string> = {};
    for (const name of INHERITED) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, {
      APP_MODE: "local",
      LOCAL_CLOUD_FILE: resolve(this.opts.localCloudFile),
      RUNTIME_USER_ID: userId,
      RUNTIME_STATE_DIR: join(dir, "openclaw"),
      // Shared by all local runtimes: later starts skip recompiling the runtime and OpenClaw.
      NODE_COMPILE_CACHE: join(resolve(this.opts.stateDir), "runtime", ".node-compile-cache"),
      ...this.opts.env,
    });
    const { command, args } = this.command();
    const log = openSync(this.logFile(userId), "a");
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: join(this.root, "runtime"),
        // Next.js types NODE_ENV as required; the runtime does not read it.
        env: env as NodeJS.ProcessEnv,
        stdio: ["ignore", log, log],
        // A process group of its own: stopping the dev server (which tears down its own
        // group) must not kill a runtime mid-shutdown; `npm run dev` stops runtimes itself.
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((r) => child.once("error", r));
      throw new Error(`could not start the runtime: ${err.message}`);
    }
    this.children.set(pid, child);
    child.once("exit", () => this.children.delete(pid));
    // The dev server may exit while a runtime finishes its turn and syncs its state.
    child.unref();
    return { taskRef: `local:${pid}` };
  }

  async isAlive(taskRef: string): Promise<boolean> {
    const pid = parseRef(taskRef);
    if (pid === undefined) return false;
    const child = this.children.get(pid);
    if (child) return child.exitCode === null && child.signalCode === null;
    return this.isOurRuntime(pid);
  }

  async stop(taskRef: string, _reason: string): Promise<void> {
    const pid = parseRef(taskRef);
    if (pid === undefined) return;
    const child = this.children.get(pid);
    if (child) {
      child.kill("SIGTERM");
      return;
    }
    if (this.isOurRuntime(pid)) process.kill(pid, "SIGTERM");
  }

  /** The command that runs the runtime, for the chosen entry. */
  command(): { command: string; args: string[] } {
    const node = this.opts.nodePath ?? process.execPath;
    if ((this.opts.entry ?? "source") === "dist") {
      const main = join(this.root, "runtime", "dist", "main.js");
      if (!existsSync(main)) throw new Error(`${main} is missing: build it with \`node runtime/build.mjs\``);
      return { command: node, args: ["--max-semi-space-size=64", main] };
    }
    return {
      command: node,
      args: ["--max-semi-space-size=64", "--import", "tsx", join(this.root, "runtime", "src", "main.ts")],
    };
  }

  /**
   * True when `pid` is a live runtime of this checkout. On Linux its command line is
   * checked, so a pid reused by an unrelated process is never signalled; elsewhere only
   * runtimes this process started are.
   */
  private isOurRuntime(pid: number): boolean {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return false;
    }
    return (
      cmdline.includes(join(this.root, "runtime", "dist", "main.js")) ||
      cmdline.includes(join(this.root, "runtime", "src", "main.ts"))
    );
  }
}

function parseRef(taskRef: string): number | undefined {
  const m = /^local:(\d+)$/.exec(taskRef);
  return m ? Number(m[1]) : undefined;
}
