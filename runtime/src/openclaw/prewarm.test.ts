import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { findPrewarmFunction, PREWARM_TARGETS } from "./prewarm";

/*
 * ./prewarm.ts reaches into hashed chunks of the pinned openclaw. These tests fail when an
 * upgrade moves or renames what it calls, and check on plain Node (as the worker runs) that
 * each call really starts its pool's thread and writes nothing into the state folder.
 */

const RUNTIME_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = new URL("./", import.meta.resolve("openclaw"));

/** The worker-thread script each target's pool runs. */
const THREADS: Record<string, string> = {
  "memory-search": "memory-search.worker.js",
  "memory-index": "memory-index.worker.js",
  "session-disk-budget": "disk-budget.worker.js",
};

/** A minimal environment, as the worker has (no AWS_*, no tokens). */
function childEnv(stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NODE_ENV: "production" };
  Object.assign(env, {
    PATH: process.env.PATH ?? "",
    HOME: stateDir,
    OPENCLAW_STATE_DIR: stateDir,
    NO_COLOR: "1",
  });
  return env;
}

describe("prewarm targets in the pinned openclaw", () => {
  it.each(PREWARM_TARGETS.map((t) => [t.name, t] as const))("finds %s", async (_name, target) => {
    const fn = await findPrewarmFunction(DIST, target);
    expect(fn).toBeTypeOf("function");
    expect(fn?.name).toBe(target.fn);
  });

  it("finds nothing for a function that is not there", async () => {
    const missing = { ...PREWARM_TARGETS[0], fn: "noSuchFunction" } as (typeof PREWARM_TARGETS)[number];
    expect(await findPrewarmFunction(DIST, missing)).toBeUndefined();
  });

  it("starts each pool's thread on plain Node and writes nothing into the state folder", async () => {
    const esbuild = await import("esbuild");
    const outfile = join(RUNTIME_ROOT, "node_modules", ".cache", "serverless-openclaw", "prewarm-check.mjs");
    // Bundled next to openclaw, like the worker, so that `import.meta.resolve("openclaw")` works.
    await esbuild.build({
      stdin: {
        contents: `
          import wt from "node:worker_threads";
          import { syncBuiltinESMExports } from "node:module";
          import { prewarmWorkerPools } from "./prewarm";
          const threads = [];
          const Base = wt.Worker;
          wt.Worker = class extends Base {
            constructor(url, opts) { super(url, opts); threads.push(String(url)); }
          };
          syncBuiltinESMExports();
          const result = await prewarmWorkerPools(
            new URL("./", import.meta.resolve("openclaw")), process.argv[2], (l) => console.error(l));
          console.log(JSON.stringify({ ...result, threads }));
          process.exit(0);`,
        resolveDir: fileURLToPath(new URL("./", import.meta.url)),
        loader: "ts",
      },
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      external: ["openclaw"],
      logLevel: "warning",
    });
    const stateDir = await mkdtemp(join(tmpdir(), "prewarm-state-"));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [outfile, stateDir], {
        timeout: 90_000,
        env: childEnv(stateDir),
      });
      const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
        started: string[];
        failed: string[];
        threads: string[];
      };
      expect(result.failed).toEqual([]);
      expect([...result.started].sort()).toEqual(PREWARM_TARGETS.map((t) => t.name).sort());
      for (const target of PREWARM_TARGETS) {
        expect(result.threads.some((u) => u.endsWith(`/${THREADS[target.name]}`))).toBe(true);
      }
      expect(await readdir(stateDir)).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
});
