import { registerHooks } from "node:module";

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
 * skips it. This is ours, for the worker's main thread. OpenClaw's worker threads resolve
 * as before: it starts them with an empty `execArgv`, so not even a preload reaches them.
 * Everything else (bare names, `node:` built-ins, files outside dist/, `require`) goes to
 * Node's own resolver. `resolve-fast-path.test.ts` loads the pinned OpenClaw in a plain Node
 * child and checks that every import this would shorten gets the very same URL and format
 * from Node's resolver.
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
