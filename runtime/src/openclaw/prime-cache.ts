/*
 * Fills a Node compile cache for fast cold starts, for the image build (no network needed):
 *   node dist/prime-cache.js /app/.compile-cache
 * Run it in the final image layout: V8's cache entries are tied to the files' paths.
 */
import { primeCompileCache } from "./openclaw-engine";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: prime-cache <compile-cache-dir>");
  process.exit(2);
}
const started = performance.now();
await primeCompileCache(dir, process.env);
console.log(`compile cache primed in ${((performance.now() - started) / 1000).toFixed(1)} s: ${dir}`);
