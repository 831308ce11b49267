/*
 * Preloaded into OpenClaw's worker threads (`--import`, added by ./worker.ts through
 * `preloadInOpenClawThreads`): the resolve fast path of ./resolve-fast-path.ts for the module
 * graph each thread loads, as the worker's main thread has it. A preload that throws would
 * stop the thread from starting, and with it OpenClaw's turn, so a failure here only costs
 * the speed-up.
 */
import { threadId } from "node:worker_threads";
import { fastResolveRoots, installResolveFastPath } from "./resolve-fast-path";

try {
  installResolveFastPath(fastResolveRoots(import.meta.resolve("openclaw")));
} catch (err) {
  console.error(`openclaw worker: thread ${threadId} runs without the resolve fast path: ${String(err)}`);
}
