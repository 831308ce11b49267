/*
 * Where the benchmark's processes run. In AWS the runtime (the runner and its OpenClaw
 * child) is a Fargate task with its own vCPU (1 by default, amplify/options.ts), while the
 * route (Lambda), DynamoDB, AppSync Events and the browser run elsewhere. On one machine
 * they all share its cores, and then the stand-ins' work competes with OpenClaw's turn in
 * our leg only: the direct leg has nothing else running.
 *
 * The "split" layout gives the runtime one CPU of its own, as a 1-vCPU task has, and puts
 * Next.js, the local cloud and the client on the other CPUs (Linux `taskset`). Both legs
 * run their OpenClaw turn on that one CPU. "shared" leaves every process on every CPU.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export interface Layout {
  kind: "split" | "shared";
  /** CPU list (taskset syntax) for the runtime's processes; undefined when shared. */
  runtimeCpus?: string;
  /** CPU list for everything else; undefined when shared. */
  otherCpus?: string;
  /** One line for the printout. */
  description: string;
}

/** The CPU lists of the split layout for `cpus` CPUs; undefined when there are fewer than 2. */
export function splitCpus(cpus: number): { runtime: string; others: string } | undefined {
  if (!Number.isInteger(cpus) || cpus < 2) return undefined;
  return { runtime: "0", others: cpus === 2 ? "1" : `1-${cpus - 1}` };
}

/**
 * The layout asked for (`BENCH_LAYOUT`: split, the default, or shared), falling back to
 * shared, with the reason, where it cannot be had.
 */
export function chooseLayout(requested = process.env.BENCH_LAYOUT ?? "split"): Layout {
  if (requested !== "split" && requested !== "shared") {
    throw new Error(`BENCH_LAYOUT must be split or shared, not ${JSON.stringify(requested)}`);
  }
  const shared = (why: string): Layout => ({
    kind: "shared",
    description: `shared: every process on every CPU (${why})`,
  });
  if (requested === "shared") return shared("BENCH_LAYOUT=shared");
  const cpus = splitCpus(availableParallelism());
  if (!cpus) return shared("only one CPU");
  if (process.platform !== "linux" || spawnSync("taskset", ["-V"]).status !== 0) return shared("no taskset");
  return {
    kind: "split",
    runtimeCpus: cpus.runtime,
    otherCpus: cpus.others,
    description: `split: the runtime (runner + OpenClaw) on CPU ${cpus.runtime}, as a 1-vCPU Fargate task; Next.js, the local cloud and the client on CPU ${cpus.others}`,
  };
}

/** The process and its descendants, as far as /proc shows them now. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields start after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(pid, ppid);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  }
  return tree.filter((pid) => existsSync(`/proc/${pid}`));
}

/**
 * Restricts a process and all its threads to `cpus`. Threads and processes it starts
 * later inherit that; processes it already started keep theirs.
 */
export function pinProcess(pid: number, cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
  // A process that exited in between is fine; anything else is not.
  if (r.status !== 0 && existsSync(`/proc/${pid}`)) {
    throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr.trim()}`);
  }
}

/** pinProcess for a process and its descendants. */
export function pinTree(root: number, cpus: string): void {
  for (const pid of processTree(root)) pinProcess(pid, cpus);
}

/** The CPUs a process may run on, as /proc reports them (`Cpus_allowed_list`). */
export function allowedCpus(pid: number): string | undefined {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
}
