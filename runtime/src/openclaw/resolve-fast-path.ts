import { findPackageJSON, registerHooks, syncBuiltinESMExports } from "node:module";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import workerThreads, { type WorkerOptions } from "node:worker_threads";

/*
 * A shorter way through Node's module resolution for the imports inside OpenClaw's code.
 *
 * A first turn resolves about 27 000 import specifiers on the worker's main thread and about
 * 45 000 more in OpenClaw's worker threads. Most are relative imports from one file to
 * another of the same package: between openclaw's dist chunks, and inside its two
 * dependencies with the most files loaded, `@openclaw/fs-safe` and `typebox` (together
 * about 2.5 s of resolver time across threads, measured with a timing hook). For each,
 * Node's default resolver checks the file on disk, follows symlinks and, for `.js`, reads
 * the package scope to learn the module format. In these packages the answer is always the
 * joined URL, as an ES module: every `.js` file there is ESM (the nearest package.json says
 * `"type": "module"`), `.mjs` is ESM anyway, and the packages are installed as real files.
 * OpenClaw's own CLI entry installs a hook of this kind for dist/ in `openclaw gateway run`;
 * importing OpenClaw as a library, as the worker does, skips it. This is ours. Everything
 * else (bare names, `node:` built-ins, other packages, `require`) goes to Node's resolver.
 * One difference is accepted, as OpenClaw accepts it for its own hook: a relative import of
 * a file that does not exist fails when it loads, not when it resolves.
 *
 * Hooks are per thread, and OpenClaw's worker threads load more modules than its main
 * thread (about 9 s of CPU in a first turn). It starts them with an explicit empty
 * `execArgv`, which drops any preload the process was given, so the worker adds one to those
 * threads itself (`preloadInOpenClawThreads`, with ./thread-preload.ts as the preload).
 * `resolve-fast-path.test.ts` checks the premises on the pinned install (every `.js` file in
 * the roots is ESM; no symlinks), and loads OpenClaw in a plain Node child, main thread and
 * worker threads, to check that every import this shortens gets the very same URL and format
 * from Node's resolver.
 */

/** The dependencies of openclaw whose relative imports take the fast path (see above). */
export const FAST_RESOLVE_PACKAGES = ["@openclaw/fs-safe", "typebox"] as const;

/**
 * The folders whose relative imports take the fast path, as URLs ending in "/": openclaw's
 * dist/ and the root of each of FAST_RESOLVE_PACKAGES as openclaw finds it (a package
 * missing there is left out). `openclawEntry` is the URL `import "openclaw"` resolves to.
 */
export function fastResolveRoots(openclawEntry: string): string[] {
  const dist = new URL("./", openclawEntry).href;
  if (!dist.endsWith("/dist/")) return [];
  const roots = [dist];
  for (const name of FAST_RESOLVE_PACKAGES) {
    try {
      const manifest = findPackageJSON(name, openclawEntry);
      if (manifest) roots.push(new URL("./", pathToFileURL(manifest)).href);
    } catch {
      // Not installed where openclaw looks for it: its imports go to Node's resolver.
    }
  }
  return roots;
}

/** The URL a relative import inside one of `roots` resolves to, or undefined for Node's resolver. */
export function fastImportUrl(
  specifier: string,
  parentUrl: string | undefined,
  conditions: readonly string[] | undefined,
  roots: readonly string[],
): string | undefined {
  if (parentUrl === undefined) return undefined;
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  if (!specifier.endsWith(".mjs") && !specifier.endsWith(".js")) return undefined;
  // require() of an ES module takes the CommonJS conditions; leave those to Node.
  if (conditions?.includes("require")) return undefined;
  const root = roots.find((r) => parentUrl.startsWith(r));
  if (root === undefined) return undefined;
  const url = new URL(specifier, parentUrl).href;
  return url.startsWith(root) ? url : undefined;
}

/** Installs the hook for this thread; false when Node has no synchronous module hooks. */
export function installResolveFastPath(roots: readonly string[]): boolean {
  if (typeof registerHooks !== "function" || roots.length === 0) return false;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = fastImportUrl(specifier, context.parentURL, context.conditions, roots);
      return url === undefined
        ? nextResolve(specifier, context)
        : { url, format: "module", shortCircuit: true };
    },
  });
  return true;
}

/** A worker thread's script as a file URL, or undefined for source text and relative paths. */
function scriptUrl(filename: string | URL): string | undefined {
  if (filename instanceof URL) return filename.href;
  if (filename.startsWith("file:")) return filename;
  return isAbsolute(filename) ? pathToFileURL(filename).href : undefined;
}

/**
 * The options of a new worker thread with `preloadUrl` added as an `--import` preload, when
 * its script is a file in `distRoot` and its options give `execArgv` (as OpenClaw's pools
 * do). Otherwise the options as they are: source text (`eval`) is not OpenClaw's module
 * graph, and a thread without `execArgv` inherits the process's options, to which the
 * preload cannot be added (V8 flags are refused in a thread's `execArgv`).
 */
export function withThreadPreload(
  filename: string | URL,
  options: WorkerOptions | undefined,
  distRoot: string,
  preloadUrl: string,
): WorkerOptions | undefined {
  if (options === undefined || options.eval || !Array.isArray(options.execArgv)) return options;
  if (!scriptUrl(filename)?.startsWith(distRoot) || options.execArgv.includes(preloadUrl)) return options;
  return { ...options, execArgv: [...options.execArgv, "--import", preloadUrl] };
}

let preloading = false;

/**
 * From now on, the worker threads OpenClaw starts from `distRoot` load `preloadUrl` first
 * (see `withThreadPreload`). `worker_threads.Worker` becomes a subclass that adds it, for
 * every importer of the module in this thread (`syncBuiltinESMExports` updates the ES module
 * bindings, which OpenClaw's chunks use). Call it before anything of OpenClaw's is imported.
 */
export function preloadInOpenClawThreads(distRoot: URL, preloadUrl: string): void {
  if (preloading) return;
  preloading = true;
  const root = distRoot.href;
  const Base = workerThreads.Worker;
  class PreloadingWorker extends Base {
    constructor(filename: string | URL, options?: WorkerOptions) {
      super(filename, withThreadPreload(filename, options, root, preloadUrl));
    }
  }
  (workerThreads as { Worker: typeof Base }).Worker = PreloadingWorker;
  syncBuiltinESMExports();
}
