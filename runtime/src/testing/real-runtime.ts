import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/*
 * Helpers for tests that run the real runtime as a process (the local launcher): finding a
 * user's runtime processes through /proc, and waiting on a condition.
 */

/** Pids of the live runtime processes (runtime/dist/main.js) started for `userId`. */
export function runtimePidsOf(projectRoot: string, userId: string): number[] {
  const main = join(projectRoot, "runtime", "dist", "main.js");
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, "utf8").includes(main)) continue;
      const env = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (!env.includes(`RUNTIME_USER_ID=${userId}`)) continue;
      if (readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]?.startsWith("Z")) continue;
      pids.push(Number(name));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
