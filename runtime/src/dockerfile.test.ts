import { spawnSync } from "node:child_process";
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * There is no Docker engine here, so the image's parts are checked as plain processes:
 * the HEALTHCHECK command against the file the runtime touches, and the entry point's
 * answer to a missing environment. (runtime.integration.test.ts runs `dist/main.js` the
 * way the CMD does, with OpenClaw.)
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(join(root, "runtime/Dockerfile"), "utf8");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dockerfile-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function healthcheck(file: string): number | null {
  const cmd = JSON.parse(
    /^\s*CMD (\[.*\])$/m.exec(dockerfile.slice(dockerfile.indexOf("HEALTHCHECK")))?.[1] ?? "[]",
  );
  const [bin, ...args] = cmd as string[];
  expect(bin).toBe("node");
  return spawnSync(process.execPath, args, {
    env: { RUNTIME_HEALTH_FILE: file } as unknown as NodeJS.ProcessEnv,
  }).status;
}

describe("runtime/Dockerfile", () => {
  it("is based on the official Node 24 image and runs as a non-root user", () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24[-\w.]*$/m);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage.indexOf("USER node")).toBeLessThan(finalStage.indexOf("CMD "));
  });

  it("starts the runner through the entry point that keeps credentials out of its environment", () => {
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(finalStage).toMatch(/^COPY [^\n]*runtime\/entrypoint\.sh \.\/$/m);
    expect(finalStage).toMatch(/^CMD \["sh", "entrypoint\.sh"\]$/m);
    const script = readFileSync(join(root, "runtime/entrypoint.sh"), "utf8");
    expect(script).toMatch(/^RUNTIME_HANDOFF_FD=3 exec node --max-semi-space-size=64 dist\/main\.js 3<</m);
  });

  it("reports healthy only while the runtime keeps touching its health file", () => {
    const file = join(dir, "runtime.health");
    writeFileSync(file, "now running\n");
    expect(healthcheck(file)).toBe(0);
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(file, old, old);
    expect(healthcheck(file)).toBe(1);
    expect(healthcheck(join(dir, "missing"))).toBe(1);
  });

  it("the entry point exits non-zero with one clear line when the environment is incomplete", () => {
    const res = spawnSync(process.execPath, ["--import", "tsx", join(root, "runtime/src/main.ts")], {
      cwd: join(root, "runtime"),
      env: {
        PATH: process.env.PATH,
        APP_MODE: "aws",
        RUNTIME_USER_ID: "user-1",
      } as unknown as NodeJS.ProcessEnv,
      encoding: "utf8",
    });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^runtime: invalid AWS configuration: AWS_REGION: /);
  });
});
