import { registerHooks, syncBuiltinESMExports } from "node:module";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import workerThreads, { type WorkerOptions } from "node:worker_threads";

/*
 * A shorter way through Node's module resolution for the imports inside openclaw's dist/.
 *
 * A first turn resolves about 28 000 import specifiers on the worker's main thread, two
 * thirds of them relative imports from one dist chunk to another. For each, Node's default
 * resolver checks the file on disk, follows symlinks and, for `.js`, reads the package scope
 * to learn the module format. Inside dist/ the answer is always the joined URL, as an ES
 * module: every dist file is ESM (`"type": "module"` in each of its package.json files) and
 * the package is installed as real files. OpenClaw's own CLI entry installs a hook of this
 * kind for `openclaw gateway run`; importing OpenClaw as a library, as the worker does,
 * skips it. This is ours. Everything else (bare names, `node:` built-ins, files outside
 * dist/, `require`) goes to Node's own resolver.
 *
 * Hooks are per thread, and OpenClaw's worker threads load more modules than its main
 * thread (about 9 s of CPU in a first turn). It starts them with an explicit empty
 * `execArgv`, which drops any preload the process was given, so the worker adds one to those
 * threads itself (`preloadInOpenClawThreads`, with ./thread-preload.ts as the preload).
 * `resolve-fast-path.test.ts` loads the pinned OpenClaw in a plain Node child, main thread
 * and worker threads, and checks that every import this would shorten gets the very same URL
 * and format from Node's resolver.
 */

/** The URL a relative import inside `distRoot` resolves to, or undefined for Node's resolver. */
export function distImportUrl(
  specifier: string,
  parentUrl: string | undefined,
  conditions: readonly string[] | undefined,
  distRoot: string,
): string | undefined {
  if (parentUrl === undefined || !parentUrl.startsWith(distRoot)) return undefined;
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  if (!specifier.endsWith(".mjs") && !specifier.endsWith(".js")) return undefined;
  // require() of an ES module takes the CommonJS conditions; leave those to Node.
  if (conditions?.includes("require")) return undefined;
  const url = new URL(specifier, parentUrl).href;
  return url.startsWith(distRoot) ? url : undefined;
}

/** Installs the hook for this thread; false when Node has no synchronous module hooks. */
export function installResolveFastPath(distRoot: URL): boolean {
  if (typeof registerHooks !== "function" || !distRoot.href.endsWith("/dist/")) return false;
  const root = distRoot.href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = distImportUrl(specifier, context.parentURL, context.conditions, root);
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
