import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildWorkerBundle } from "./openclaw-engine";
import {
  FAST_RESOLVE_PACKAGES,
  fastImportUrl,
  fastResolveRoots,
  withThreadPreload,
} from "./resolve-fast-path";

const DIST = "file:///app/node_modules/openclaw/dist/";
const FS_SAFE = "file:///app/node_modules/@openclaw/fs-safe/";
const TYPEBOX = "file:///app/node_modules/typebox/";
const ROOTS = [DIST, FS_SAFE, TYPEBOX];
const runtimeRoot = fileURLToPath(new URL("../../", import.meta.url));
// Node resolves modules by their real path, so a linked node_modules must be followed here too.
const openclawEntry = pathToFileURL(
  realpathSync(join(runtimeRoot, "node_modules", "openclaw", "dist", "index.js")),
).href;
const IMPORT = ["node", "import"];
const fastPathUrl = new URL("./resolve-fast-path.ts", import.meta.url).href;

/**
 * Runs an ES module script in a plain Node child from the runtime folder (no TypeScript
 * loader: it would change resolution) and returns the JSON of its last output line.
 */
function runPlainNode(script: string, env: Record<string, string> = {}): unknown {
  const out = execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
    cwd: runtimeRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      OPENCLAW_CONFIG_PATH: "/nonexistent/openclaw.json",
      ...env,
    },
    encoding: "utf8",
    timeout: 120_000,
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}

describe("fastImportUrl", () => {
  it("joins a relative import from one file of a root to another", () => {
    expect(fastImportUrl("./chunk-a1.mjs", `${DIST}index.js`, IMPORT, ROOTS)).toBe(`${DIST}chunk-a1.mjs`);
    expect(fastImportUrl("../infra/errors.js", `${DIST}cli/run.js`, IMPORT, ROOTS)).toBe(
      `${DIST}infra/errors.js`,
    );
    expect(fastImportUrl("./path.js", `${FS_SAFE}dist/json.js`, IMPORT, ROOTS)).toBe(
      `${FS_SAFE}dist/path.js`,
    );
    expect(fastImportUrl("../type/index.mjs", `${TYPEBOX}build/value/x.mjs`, IMPORT, ROOTS)).toBe(
      `${TYPEBOX}build/type/index.mjs`,
    );
  });

  it("leaves everything else to Node's resolver", () => {
    const cases: Array<[string, string | undefined, readonly string[] | undefined]> = [
      ["zod", `${DIST}index.js`, IMPORT], // a bare package name
      ["node:fs", `${DIST}index.js`, IMPORT], // a built-in
      ["./x.mjs", "file:///app/dist/main.js", IMPORT], // a parent outside the roots
      ["./x.js", "file:///app/node_modules/zod/index.js", IMPORT], // a package that is not a root
      ["./x.mjs", undefined, IMPORT], // the entry point
      ["../../package.json", `${DIST}index.js`, IMPORT], // not a module file
      ["../../x.mjs", `${DIST}a/b.mjs`, IMPORT], // leaves dist/
      ["../typebox/x.mjs", `${FS_SAFE}index.js`, IMPORT], // from one root into another
      ["./x.cjs", `${DIST}index.js`, IMPORT], // CommonJS
      ["./x.js?v=1", `${DIST}index.js`, IMPORT], // a query: Node's business
      ["./x.js", `${DIST}index.js`, ["node", "require"]], // require() of ESM
    ];
    for (const [specifier, parent, conditions] of cases)
      expect(fastImportUrl(specifier, parent, conditions, ROOTS), specifier).toBeUndefined();
  });
});

describe("fastResolveRoots, on the pinned install", () => {
  const roots = fastResolveRoots(openclawEntry);

  it("finds openclaw's dist and the root of each listed dependency", () => {
    const modules = pathToFileURL(realpathSync(join(runtimeRoot, "node_modules"))).href;
    expect(roots).toEqual([
      `${modules}/openclaw/dist/`,
      ...FAST_RESOLVE_PACKAGES.map((name) => `${modules}/${name}/`),
    ]);
    expect(fastResolveRoots("file:///app/lib/main.js")).toEqual([]); // not a dist layout
    expect(fastResolveRoots("file:///nowhere/dist/index.js")).toEqual(["file:///nowhere/dist/"]); // no packages
  });

  it("holds only ES modules, as real files: the premise of the join", () => {
    // Node takes a .js file's format from the nearest package.json; the fast path says "module".
    const scopeType = new Map<string, string | undefined>();
    const typeOf = (dir: string): string | undefined => {
      if (!scopeType.has(dir)) {
        let type: string | undefined;
        try {
          type =
            (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { type?: string }).type ??
            "commonjs";
        } catch {
          type = dirname(dir) === dir ? "commonjs" : typeOf(dirname(dir));
        }
        scopeType.set(dir, type);
      }
      return scopeType.get(dir);
    };
    let jsFiles = 0;
    for (const root of roots) {
      for (const entry of readdirSync(fileURLToPath(root), { recursive: true, withFileTypes: true })) {
        const path = join(entry.parentPath, entry.name);
        expect(entry.isSymbolicLink(), path).toBe(false);
        if (entry.isFile() && entry.name.endsWith(".js")) {
          jsFiles++;
          expect(typeOf(entry.parentPath), path).toBe("module");
        }
      }
    }
    expect(jsFiles).toBeGreaterThan(1_000);
  });
});

describe("withThreadPreload", () => {
  const PRELOAD = "file:///app/dist/openclaw-thread-preload.js";
  const script = `${DIST}manager-search.worker.js`;

  it("adds the preload to a thread of OpenClaw's that gives an execArgv", () => {
    const options = { execArgv: [], workerData: { a: 1 } };
    expect(withThreadPreload(new URL(script), options, DIST, PRELOAD)).toEqual({
      execArgv: ["--import", PRELOAD],
      workerData: { a: 1 },
    });
    expect(options.execArgv).toEqual([]); // the caller's options are left alone
    expect(withThreadPreload(script, { execArgv: ["--trace-warnings"] }, DIST, PRELOAD)?.execArgv).toEqual([
      "--trace-warnings",
      "--import",
      PRELOAD,
    ]);
    // A plain path, as Node also accepts.
    expect(
      withThreadPreload(
        "/app/node_modules/openclaw/dist/disk-budget.worker.js",
        { execArgv: [] },
        DIST,
        PRELOAD,
      )?.execArgv,
    ).toEqual(["--import", PRELOAD]);
  });

  it("leaves other threads' options as they are", () => {
    const cases: Array<[string | URL, object | undefined]> = [
      [script, undefined], // inherits the process's options: V8 flags there, no room for a preload
      [script, { workerData: 1 }], // the same
      ["parentPort.postMessage(1)", { eval: true, execArgv: [] }], // source text
      ["file:///app/dist/other.worker.js", { execArgv: [] }], // not OpenClaw's
      ["./relative.js", { execArgv: [] }], // relative to the working folder: not knowable here
      [script, { execArgv: ["--import", PRELOAD] }], // already there
    ];
    for (const [file, options] of cases)
      expect(withThreadPreload(file, options, DIST, PRELOAD)).toBe(options);
  });
});

describe("against Node's own resolver, with the pinned openclaw", () => {
  it("gives the very URL and format Node gives, for every import it shortens while OpenClaw loads", () => {
    // A plain Node child (no TypeScript loader: it would change resolution) resolves every
    // import the usual way and compares our answer with Node's, then imports OpenClaw.
    const script = `
      import { registerHooks } from "node:module";
      import { fastImportUrl, fastResolveRoots } from ${JSON.stringify(fastPathUrl)};
      const roots = fastResolveRoots(import.meta.resolve("openclaw"));
      const same = Object.fromEntries(roots.map((r) => [r, 0]));
      const diff = [];
      registerHooks({
        resolve(specifier, context, next) {
          const node = next(specifier, context);
          const ours = fastImportUrl(specifier, context.parentURL, context.conditions, roots);
          if (ours !== undefined) {
            if (ours === node.url && node.format === "module") same[roots.find((r) => ours.startsWith(r))]++;
            else diff.push({ specifier, parent: context.parentURL, node: node.url, format: node.format });
          }
          return node;
        },
      });
      const openclaw = await import("openclaw");
      openclaw.loadConfig();
      console.log(JSON.stringify({ same: Object.values(same), diff: diff.slice(0, 5), diffs: diff.length }));
    `;
    const result = runPlainNode(script) as {
      same: number[];
      diffs: number;
      diff: unknown[];
    };
    expect(result.diff).toEqual([]);
    expect(result.diffs).toBe(0);
    // The import and loadConfig alone take the shortcut thousands of times, in every root.
    console.log(
      `main thread: ${result.same.join(", ")} imports shortened (dist, ${FAST_RESOLVE_PACKAGES.join(", ")})`,
    );
    expect(result.same).toHaveLength(1 + FAST_RESOLVE_PACKAGES.length);
    for (const n of result.same) expect(n).toBeGreaterThan(100);
  }, 150_000);
});

describe("in OpenClaw's worker threads, with the pinned openclaw", () => {
  it("reaches the threads OpenClaw starts, and there too gives the URL and format Node gives", () => {
    // The worker adds its preload to OpenClaw's threads with preloadInOpenClawThreads. Here
    // the preload is a comparing hook like the one above, which writes what it found to a
    // file per thread; the prewarm calls start three of OpenClaw's pools without a turn.
    const dir = mkdtempSync(join(tmpdir(), "resolve-threads-"));
    const prewarm = pathToFileURL(fileURLToPath(new URL("./prewarm.ts", import.meta.url))).href;
    const root = new URL("./", openclawEntry).href;
    const roots = fastResolveRoots(openclawEntry);
    try {
      writeFileSync(
        join(dir, "compare.mjs"),
        `
        import { writeFileSync } from "node:fs";
        import { registerHooks } from "node:module";
        import { threadId } from "node:worker_threads";
        import { fastImportUrl } from ${JSON.stringify(fastPathUrl)};
        const found = { same: 0, diff: [] };
        registerHooks({
          resolve(specifier, context, next) {
            const node = next(specifier, context);
            const ours = fastImportUrl(specifier, context.parentURL, context.conditions, ${JSON.stringify(roots)});
            if (ours !== undefined) {
              if (ours === node.url && node.format === "module") found.same++;
              else found.diff.push({ specifier, parent: context.parentURL, node: node.url, format: node.format });
              writeFileSync(${JSON.stringify(dir)} + "/thread-" + threadId + ".json", JSON.stringify(found));
            }
            return node;
          },
        });
      `,
      );
      const script = `
        import { preloadInOpenClawThreads } from ${JSON.stringify(fastPathUrl)};
        import { prewarmWorkerPools } from ${JSON.stringify(prewarm)};
        const root = new URL(${JSON.stringify(root)});
        preloadInOpenClawThreads(root, ${JSON.stringify(pathToFileURL(join(dir, "compare.mjs")).href)});
        const result = await prewarmWorkerPools(root, ${JSON.stringify(join(dir, "state"))}, () => {});
        console.log(JSON.stringify(result));
        process.exit(0);
      `;
      const started = runPlainNode(script, { OPENCLAW_STATE_DIR: join(dir, "state") }) as {
        failed: string[];
      };
      expect(started.failed).toEqual([]);
      const threads = readdirSync(dir)
        .filter((name) => name.startsWith("thread-"))
        .map(
          (name) => JSON.parse(readFileSync(join(dir, name), "utf8")) as { same: number; diff: unknown[] },
        );
      // The memory pools share one thread; the disk-budget pool has its own.
      expect(threads.length).toBeGreaterThanOrEqual(2);
      expect(threads.flatMap((t) => t.diff)).toEqual([]);
      console.log(`threads: ${threads.map((t) => t.same).join(", ")} imports shortened`);
      for (const t of threads) expect(t.same).toBeGreaterThan(0);
      expect(threads.reduce((n, t) => n + t.same, 0)).toBeGreaterThan(1_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe("the thread preload", () => {
  it("lets a thread start without the fast path when it cannot find openclaw", async () => {
    // Built where `openclaw` does not resolve: the preload must warn, not throw, since a
    // throwing preload would keep OpenClaw's thread, and so its turn, from starting.
    const dir = mkdtempSync(join(tmpdir(), "thread-preload-"));
    try {
      await buildWorkerBundle(join(dir, "openclaw-worker.mjs"));
      const preload = pathToFileURL(join(dir, "openclaw-thread-preload.mjs")).href;
      // A file, as OpenClaw's threads are (Node runs no preloads in source-text threads).
      writeFileSync(
        join(dir, "thread.mjs"),
        `import { parentPort } from "node:worker_threads"; parentPort.postMessage("started");`,
      );
      const script = `
        import { Worker } from "node:worker_threads";
        const worker = new Worker(${JSON.stringify(join(dir, "thread.mjs"))}, {
          execArgv: ["--import", ${JSON.stringify(preload)}],
        });
        worker.on("message", (m) => console.log(m));
      `;
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: dir,
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe("started");
      expect(result.stderr).toContain("runs without the resolve fast path");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
