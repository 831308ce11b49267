import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { allowedCpus, chooseLayout, pinTree, processTree, splitCpus } from "./layout";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

const canPin = process.platform === "linux" && spawnSync("taskset", ["-V"]).status === 0;

describe("bench layout", () => {
  it("gives the runtime CPU 0 and the rest to everything else, given two CPUs or more", () => {
    expect(splitCpus(1)).toBeUndefined();
    expect(splitCpus(0)).toBeUndefined();
    expect(splitCpus(2)).toEqual({ runtime: "0", others: "1" });
    expect(splitCpus(8)).toEqual({ runtime: "0", others: "1-7" });
  });

  it("takes BENCH_LAYOUT=shared as asked and refuses an unknown layout", () => {
    const shared = chooseLayout("shared");
    expect(shared.kind).toBe("shared");
    expect(shared.runtimeCpus).toBeUndefined();
    expect(shared.description).toMatch(/BENCH_LAYOUT=shared/);
    expect(() => chooseLayout("fast")).toThrow(/split or shared/);
  });

  it.runIf(canPin)("pins a process, its threads and the process it started to the CPUs given", async () => {
    // A node process (several threads) that starts a second one.
    const parent = spawn(
      process.execPath,
      [
        "-e",
        "require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' }); setTimeout(() => {}, 30000)",
      ],
      { stdio: "ignore" },
    );
    children.push(parent);
    const pid = parent.pid as number;
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      tree = processTree(pid);
    }
    expect(tree).toHaveLength(2);
    pinTree(pid, "0");
    for (const p of tree) expect(allowedCpus(p)).toBe("0");
    const [, grandchild] = tree;
    if (grandchild) process.kill(grandchild, "SIGKILL");
  });
});
