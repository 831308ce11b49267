import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeHandedOffEnv } from "./credential-handoff";

const root = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "handoff-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fdWith(text: string): number {
  const file = join(dir, `handoff-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  return openSync(file, "r");
}

describe("takeHandedOffEnv", () => {
  it("takes the credential variables from the descriptor, skips others and empties, and closes it", () => {
    const fd = fdWith(
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/1234\nAWS_SECRET_ACCESS_KEY=nope\nAWS_CONTAINER_AUTHORIZATION_TOKEN=\n",
    );
    const env: Record<string, string | undefined> = { RUNTIME_HANDOFF_FD: String(fd) };
    expect(takeHandedOffEnv(env)).toEqual(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]);
    expect(env).toEqual({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/1234" });
    expect(() => closeSync(fd)).toThrow(/EBADF/);
  });

  it("does nothing without RUNTIME_HANDOFF_FD, and refuses a descriptor that is not open", () => {
    const env: Record<string, string | undefined> = { OTHER: "x" };
    expect(takeHandedOffEnv(env)).toEqual([]);
    expect(env).toEqual({ OTHER: "x" });
    const fd = fdWith("");
    closeSync(fd);
    expect(() => takeHandedOffEnv({ RUNTIME_HANDOFF_FD: String(fd) })).toThrow(/not open/);
    expect(() => takeHandedOffEnv({ RUNTIME_HANDOFF_FD: "1" })).toThrow(/3 or more/);
  });

  it("refuses a malformed line without repeating it", () => {
    const fd = fdWith("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/\tsecret-value\n");
    const err = (() => {
      try {
        takeHandedOffEnv({ RUNTIME_HANDOFF_FD: String(fd) });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/malformed line/);
    expect(err?.message).not.toContain("secret-value");
  });
});

describe("runtime/entrypoint.sh", () => {
  it.runIf(process.platform === "linux")(
    "hands the credential path to the runner on fd 3, and keeps it out of the runner's /proc environ",
    async () => {
      // The entry point execs `node … dist/main.js` in its working folder: put a probe there
      // that does what main.ts does first, then reports what it sees.
      const app = join(dir, "app");
      mkdirSync(join(app, "dist"), { recursive: true });
      const esbuild = await import("esbuild");
      await esbuild.build({
        stdin: {
          contents: `
            import { readFileSync } from "node:fs";
            import { takeHandedOffEnv } from "./credential-handoff";
            const set = takeHandedOffEnv();
            const environ = readFileSync("/proc/self/environ", "latin1");
            console.log(JSON.stringify({
              set,
              uri: process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
              inEnviron: environ.includes("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || environ.includes("7f3e-handoff"),
              other: process.env.OTHER_SETTING,
              handoffFd: process.env.RUNTIME_HANDOFF_FD ?? null,
            }));`,
          resolveDir: join(root, "runtime/src"),
          loader: "ts",
        },
        outfile: join(app, "dist/main.js"),
        bundle: true,
        platform: "node",
        format: "cjs",
        logLevel: "warning",
      });
      const res = spawnSync("sh", [join(root, "runtime/entrypoint.sh")], {
        cwd: app,
        env: {
          PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/7f3e-handoff",
          OTHER_SETTING: "kept",
        } as unknown as NodeJS.ProcessEnv,
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(res.stderr).toBe("");
      expect(res.status).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({
        set: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
        uri: "/v2/credentials/7f3e-handoff",
        inEnviron: false,
        other: "kept",
        handoffFd: null,
      });
    },
  );
});
