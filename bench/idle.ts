/*
 * `npm run bench:idle`: what a message costs after the agent sat idle for more than a
 * minute, and what the runner's keep-warm turns (RunnerOptions.keepWarmMs) save.
 *
 * OpenClaw retires several worker threads after 60 s without work; the next turn starts
 * them again. This starts one engine against the fake LLM, then times turns in the same
 * conversation: a few seconds after the previous one, after 75 s of idling, and after 75 s
 * during which a prepare-only warm-up ran every 45 s (what the runner does while idle).
 * Prints the time to first delta of each; asserts nothing. Takes about 4 minutes.
 *
 *   npm run bench:idle -- [--idle-seconds N] [--keep-warm-seconds N]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeLlm } from "../e2e/fixtures/fake-llm";
import { OpenClawEngine } from "../runtime/src/openclaw/openclaw-engine";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) || fallback : fallback;
};
const IDLE_MS = option("--idle-seconds", 75) * 1000;
const KEEP_WARM_MS = option("--keep-warm-seconds", 45) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const llm = await startFakeLlm();
  llm.setFallback((req) => ({ text: `You said: ${req.userText}`, chunks: 4, firstByteDelayMs: 100 }));
  const stateDir = await mkdtemp(join(tmpdir(), "bench-idle-"));
  const engine = new OpenClawEngine({
    stateDir,
    parentEnv: process.env,
    compileCacheDir: join(tmpdir(), "bench-runtime-compile-cache"),
    settings: {
      provider: "openai-compatible",
      model: "fake-model",
      baseUrl: `${llm.url}/v1`,
      apiKey: "sk-bench",
      runTimeoutSeconds: 300,
    },
  });
  const turn = async (text: string): Promise<number> => {
    let first = 0;
    const start = performance.now();
    await engine.run({
      sessionKey: "conv-bench-idle",
      text,
      signal: new AbortController().signal,
      onEvent: (e) => {
        if (e.type === "delta" && first === 0) first = performance.now();
      },
    });
    return Math.round(first - start);
  };
  const rows: [string, number][] = [];
  try {
    console.log(`bench:idle: idle ${IDLE_MS / 1000} s, keep-warm every ${KEEP_WARM_MS / 1000} s`);
    await engine.start();
    rows.push(["first turn of a cold start", await turn("hello")]);
    await sleep(3_000);
    rows.push(["3 s after the previous turn", await turn("a quick follow-up")]);
    console.log(`idling ${IDLE_MS / 1000} s …`);
    await sleep(IDLE_MS);
    rows.push([
      `${IDLE_MS / 1000} s after the previous turn, no keep-warm`,
      await turn("back after a while"),
    ]);
    console.log(`idling ${IDLE_MS / 1000} s with keep-warm turns …`);
    let left = IDLE_MS;
    while (left > KEEP_WARM_MS) {
      await sleep(KEEP_WARM_MS);
      left -= KEEP_WARM_MS;
      const w = performance.now();
      await engine.warmUp();
      console.log(`  keep-warm turn: ${Math.round(performance.now() - w)} ms`);
    }
    await sleep(left);
    rows.push([
      `${IDLE_MS / 1000} s after the previous turn, keep-warm every ${KEEP_WARM_MS / 1000} s`,
      await turn("back again"),
    ]);
  } finally {
    await engine.stop(15_000);
    await rm(stateDir, { recursive: true, force: true });
    await llm.close();
  }
  console.log("\nTime to first delta (fake LLM answers in 0.1 s)\n");
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, ms] of rows) console.log(`  ${label.padEnd(width)}  ${String(ms).padStart(6)} ms`);
}

await main();
process.exit(0);
