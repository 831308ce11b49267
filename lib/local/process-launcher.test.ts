import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessRuntimeLauncher } from "./process-launcher";

/*
 * The launcher's process handling, with a runtime that exits at once (its local cloud file
 * does not exist). The full start with OpenClaw is in runtime/src/runtime.integration.test.ts.
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "launcher-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("ProcessRuntimeLauncher", () => {
  it("starts the runtime with the container's environment contract and logs to the state folder", async () => {
    const launcher = new ProcessRuntimeLauncher({
      stateDir: dir,
      localCloudFile: join(dir, "missing-cloud.json"),
      projectRoot: root,
      entry: "source",
    });
    const { taskRef } = await launcher.launch("user-1");
    expect(taskRef).toMatch(/^local:\d+$/);
    await waitUntil(async () => !(await launcher.isAlive(taskRef)), 30_000);
    // The runtime read LOCAL_CLOUD_FILE and RUNTIME_USER_ID and said in one line what is wrong.
    const log = readFileSync(launcher.logFile("user-1"), "utf8");
    expect(log).toContain(`local cloud file ${join(dir, "missing-cloud.json")} not found`);
    expect(log.trim().split("\n")).toHaveLength(1);
    expect(launcher.logFile("user-1")).toBe(join(dir, "runtime", "user-1", "runtime.log"));
  }, 40_000);

  it("never treats or stops an unrelated process as a runtime", async () => {
    const launcher = new ProcessRuntimeLauncher({
      stateDir: dir,
      localCloudFile: join(dir, "x.json"),
      projectRoot: root,
    });
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"], { stdio: "ignore" });
    try {
      const ref = `local:${other.pid}`;
      expect(await launcher.isAlive(ref)).toBe(false);
      await launcher.stop(ref, "test");
      await new Promise((r) => setTimeout(r, 200));
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
      expect(await launcher.isAlive("not-a-ref")).toBe(false);
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("rejects a user id that is not a channel segment", () => {
    const launcher = new ProcessRuntimeLauncher({ stateDir: dir, localCloudFile: join(dir, "x.json") });
    expect(() => launcher.userDir("../etc")).toThrow(/invalid user id/);
  });

  it("runs the bundle like the image does, or the source through tsx", () => {
    const dist = new ProcessRuntimeLauncher({
      stateDir: dir,
      localCloudFile: "x",
      projectRoot: root,
      entry: "dist",
    });
    const source = new ProcessRuntimeLauncher({ stateDir: dir, localCloudFile: "x", projectRoot: root });
    expect(source.command().args.slice(-3)).toEqual(["--import", "tsx", join(root, "runtime/src/main.ts")]);
    // The container's CMD runs runtime/entrypoint.sh, which execs node on the bundle.
    const entrypoint = readFileSync(join(root, "runtime/entrypoint.sh"), "utf8");
    const cmd = (/^RUNTIME_HANDOFF_FD=3 exec (node [^<]*?) 3<</m.exec(entrypoint)?.[1] ?? "").split(" ");
    expect(cmd[0]).toBe("node");
    try {
      const args = dist.command().args;
      // Same flags and the same entry file as the container's command.
      expect(["node", ...args.slice(0, -1), `dist/${args.at(-1)?.split("/").at(-1)}`]).toEqual(cmd);
    } catch (err) {
      // No bundle built in this checkout: the error says how to build it.
      expect(String(err)).toMatch(/node runtime\/build\.mjs/);
    }
  });
});
