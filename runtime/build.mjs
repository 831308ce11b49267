// Bundles the runtime into runtime/dist/: main.js (the runner, with the lib/ adapters and
// the AWS SDK it imports), openclaw-worker.js (the OpenClaw child) with
// openclaw-thread-preload.js (loaded into OpenClaw's threads) and prime-cache.js (fills
// the compile cache at image build time). `openclaw` stays
// external: it is the one production dependency in runtime/node_modules.
//   node runtime/build.mjs            build
//   node runtime/build.mjs --metafile write dist/meta.json too (bundle analysis)
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outdir = join(here, "dist");

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: {
    main: join(here, "src/main.ts"),
    "openclaw-worker": join(here, "src/openclaw/worker.ts"),
    // Preloaded by the worker into OpenClaw's worker threads (resolve-fast-path.ts).
    "openclaw-thread-preload": join(here, "src/openclaw/thread-preload.ts"),
    // Run once at image build time to fill the compile cache (see runtime/Dockerfile).
    "prime-cache": join(here, "src/openclaw/prime-cache.ts"),
  },
  outdir,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // openclaw is installed next to the bundle; ws's native speed-ups are optional; esbuild is
  // only imported when the engine runs from source (it bundles its worker on the fly).
  external: ["openclaw", "openclaw/*", "bufferutil", "utf-8-validate", "esbuild"],
  // Bundled CommonJS dependencies (the AWS SDK, ws) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});
if (process.argv.includes("--metafile"))
  await writeFile(join(outdir, "meta.json"), JSON.stringify(result.metafile));
for (const name of ["main.js", "openclaw-worker.js"]) {
  const { size } = await stat(join(outdir, name));
  console.log(`runtime/dist/${name} ${(size / 1024).toFixed(0)} KB`);
}
