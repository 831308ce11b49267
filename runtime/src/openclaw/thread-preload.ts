/*
 * Preloaded into OpenClaw's worker threads (`--import`, added by ./worker.ts through
 * `preloadInOpenClawThreads`): the resolve fast path of ./resolve-fast-path.ts for the module
 * graph each thread loads, as the worker's main thread has it.
 */
import { fastResolveRoots, installResolveFastPath } from "./resolve-fast-path";

installResolveFastPath(fastResolveRoots(import.meta.resolve("openclaw")));
