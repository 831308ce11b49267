import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * Starts three of OpenClaw's worker-thread pools at worker start, while the main thread is
 * still importing OpenClaw, instead of one after another in the middle of the first turn.
 *
 * A first turn in a fresh process spends most of its time booting worker threads, each
 * with its own module graph, started lazily and in sequence while the main thread waits.
 * Three of them can be started with no state at all: the session
 * disk-budget pool and memory-core's search and index pools. Each start is one harmless
 * call through the pool (a disk measurement of a store that may not exist yet, a presence
 * check of a database path that does not exist, an empty index preparation), so the pool
 * creates its thread and keeps it for the turn (these pools retire a thread after 60 s idle:
 * the warm-up turn or the first message comes well before that).
 *
 * None of this is public API. The functions live in hashed chunks of openclaw's `dist/`, so
 * they are found by their (unminified) function names in files with a known name prefix,
 * and imported by file URL, which gives the very module instances, and so the very pools,
 * that the turn uses later. openclaw is pinned; `prewarm.test.ts` fails when an upgrade
 * moves any of them. At run time a missing function is only logged: the turn then starts
 * the pool itself, as it would without this.
 */

export interface PrewarmTarget {
  /** What the log calls it. */
  name: string;
  /** File name prefix in openclaw's dist/ (the rest is a content hash). */
  prefix: string;
  /** The function's own name (exports are minified; function names are not). */
  fn: string;
  /** Arguments of a call that starts the pool's thread and changes nothing. */
  args: (stateDir: string) => unknown[];
}

export const PREWARM_TARGETS: readonly PrewarmTarget[] = [
  {
    name: "memory-search",
    prefix: "manager-cpu-worker-runtime-",
    fn: "runMemoryPresenceInspection",
    args: () => [join(tmpdir(), `openclaw-prewarm-absent-${process.pid}.sqlite`)],
  },
  {
    name: "memory-index",
    prefix: "manager-cpu-worker-runtime-",
    fn: "prepareMemoryIndexInWorker",
    args: () => [
      {
        entry: { path: "prewarm.md", mtimeMs: 0 },
        source: "memory",
        content: "",
        pathClassification: {},
        chunking: { tokens: 400, overlap: 80 },
      },
    ],
  },
  {
    name: "session-disk-budget",
    prefix: "disk-budget-",
    fn: "measureSessionPhysicalDiskUsage",
    args: (stateDir) => [join(stateDir, "agents", "main", "sessions", "sessions.json")],
  },
];

type AnyFn = (...args: unknown[]) => unknown;

/**
 * The `.mjs` file of openclaw's dist folder with the target's prefix whose text declares
 * and exports the function, or undefined. Synchronous on purpose: the worker calls this
 * right before it imports OpenClaw, whose module evaluation then blocks the event loop
 * for seconds, so an await on file I/O here would only start the pools after that.
 */
export function findPrewarmChunk(distDir: URL, target: PrewarmTarget, names?: string[]): URL | undefined {
  const exported = new RegExp(`\\b${target.fn} as \\w+`);
  for (const name of names ?? readdirSync(distDir)) {
    if (!name.startsWith(target.prefix) || !name.endsWith(".mjs")) continue;
    const url = new URL(name, distDir);
    const text = readFileSync(url, "utf8");
    if (text.includes(`function ${target.fn}(`) && exported.test(text)) return url;
  }
  return undefined;
}

/** Imports the target's function from its chunk (exports are minified: found by function name). */
export async function importPrewarmFunction(chunk: URL, target: PrewarmTarget): Promise<AnyFn | undefined> {
  const mod = (await import(chunk.href)) as Record<string, unknown>;
  return Object.values(mod).find((v): v is AnyFn => typeof v === "function" && v.name === target.fn);
}

/** Both steps: the imported function, or undefined when openclaw does not have it. */
export async function findPrewarmFunction(distDir: URL, target: PrewarmTarget): Promise<AnyFn | undefined> {
  const chunk = findPrewarmChunk(distDir, target);
  return chunk ? importPrewarmFunction(chunk, target) : undefined;
}

/**
 * Starts the pools without waiting for them; resolves when every start has settled (for
 * logs and tests). Never rejects. `distDir` is openclaw's `dist/` folder as a URL. The
 * chunks are found synchronously, before this returns, so that their imports are under way
 * before the caller goes on to import OpenClaw itself.
 */
export function prewarmWorkerPools(
  distDir: URL,
  stateDir: string,
  log: (line: string) => void,
  targets: readonly PrewarmTarget[] = PREWARM_TARGETS,
): Promise<{ started: string[]; failed: string[] }> {
  const started: string[] = [];
  const failed: string[] = [];
  const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));
  let names: string[];
  try {
    names = readdirSync(distDir);
  } catch (err) {
    log(`prewarm: cannot read ${distDir.pathname}: ${describe(err)}`);
    return Promise.resolve({ started, failed: targets.map((t) => t.name) });
  }
  const starts = targets.map(async (target) => {
    try {
      const chunk = findPrewarmChunk(distDir, target, names);
      const fn = chunk ? await importPrewarmFunction(chunk, target) : undefined;
      if (!fn) throw new Error(`${target.fn} not found in ${target.prefix}*.mjs`);
      await fn(...target.args(stateDir));
      started.push(target.name);
    } catch (err) {
      failed.push(target.name);
      log(`prewarm ${target.name}: ${describe(err)}`);
    }
  });
  return Promise.all(starts).then(() => ({ started, failed }));
}
