import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/*
 * vitest's global setup: builds runtime/dist (what the image runs) once, before any test
 * file starts. The tests that run the real runtime start it from there; building in each of
 * them raced, since a build removes the folder another file was starting runtimes from.
 */
export default function setup(): void {
  const build = fileURLToPath(new URL("../../build.mjs", import.meta.url));
  execFileSync(process.execPath, [build], { stdio: "pipe" });
}
