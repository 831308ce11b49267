/*
 * Preloaded into OpenClaw's worker threads (`--import`, added by ./worker.ts through
 * `preloadInOpenClawThreads`): the resolve fast path of ./resolve-fast-path.ts for the module
 * graph each thread loads, as the worker's main thread has it.
 */
import { installResolveFastPath } from "./resolve-fast-path";

installResolveFastPath(new URL("./", import.meta.resolve("openclaw")));
