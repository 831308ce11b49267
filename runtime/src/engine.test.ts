import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { isRunning } from "./engine";

describe("isRunning", () => {
  it("is false for a child that exited with a code and for one killed by a signal", async () => {
    const forever = ["-e", "setInterval(() => {}, 1000)"];
    const exits = spawn(process.execPath, ["-e", "process.exit(3)"]);
    const killed = spawn(process.execPath, forever);
    expect(isRunning(killed)).toBe(true);
    killed.kill("SIGKILL");
    await Promise.all([once(exits, "exit"), once(killed, "exit")]);
    expect(exits).toMatchObject({ exitCode: 3, signalCode: null });
    // What the OOM killer leaves: no exit code at all.
    expect(killed).toMatchObject({ exitCode: null, signalCode: "SIGKILL" });
    expect(isRunning(exits)).toBe(false);
    expect(isRunning(killed)).toBe(false);
  });
});
