import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdapters } from "../lib/adapters";
import { configFromLocalCloud } from "../lib/env";
import { startLocalCloud } from "../lib/local-cloud/cloud";
import { createTestUser, signInForTest } from "../lib/testing/services";
import { startFakeLlm } from "./fixtures/fake-llm";
import { buildApp, freePort, startApp, stopPid } from "./support/app-server";
import { E2E_INFO_ENV, type E2eInfo } from "./support/info";
import { startLlmControl } from "./support/llm-control";

/*
 * Starts everything the browser tests need, on 127.0.0.1 and free ports, with all state in
 * one temp folder: the fake LLM (+ its control endpoint), the embedded local cloud, and the
 * Next.js app as a production build (`next build` into `.next/e2e`, then `next start`).
 * Runtimes are launched by the app itself, through the local launcher, on first use.
 * Returns the teardown, which stops everything it started, by pid.
 *
 * E2E_SKIP_BUILD=1 reuses an existing `.next/e2e` build; E2E_KEEP=1 keeps the temp folder.
 */

export default async function globalSetup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-e2e-"));
  const cleanups: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const c of cleanups.reverse()) {
      await c().catch((err: unknown) => console.warn("[e2e] teardown step failed:", err));
    }
    if (process.env.E2E_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    else console.log(`[e2e] state kept in ${dir}`);
  };

  try {
    const llm = await startFakeLlm();
    cleanups.push(() => llm.close());
    const control = await startLlmControl(llm);
    cleanups.push(() => control.close());

    const appPort = await freePort();
    const appUrl = `http://127.0.0.1:${appPort}`;
    const cloud = await startLocalCloud({
      stateDir: join(dir, "cloud"),
      ports: { dynamodb: 0, events: 0, cognito: 0 },
      appUrl,
    });
    cleanups.push(() => cloud.close());
    const container = createAdapters(configFromLocalCloud(cloud.info, cloud.file));
    // Runtimes the app launched: stopped before the cloud they talk to.
    cleanups.push(async () => {
      const active = await container.taskStates.listActive();
      await Promise.all(
        active
          .map((row) => /^local:(\d+)$/.exec(row.taskRef ?? "")?.[1])
          .filter((pid): pid is string => pid !== undefined)
          .map((pid) => stopPid(Number(pid), 15_000)),
      );
    });

    buildApp({ cloudFile: cloud.file, reuse: process.env.E2E_SKIP_BUILD === "1" });
    const app = await startApp({ cloudFile: cloud.file, port: appPort, logFile: join(dir, "next.log") });
    cleanups.push(() => app.stop());

    // Two users: alice (the first user of the pool) and bob, each with their own settings
    // pointing at the fake LLM. Only alice pre-warms: one OpenClaw at a time on a small CI box.
    const { cognito } = cloud.info;
    const alice = { ...cloud.firstUser, sub: "" };
    alice.sub = (await signInForTest(cognito, alice.email, alice.password)).sub;
    const bob = { email: "bob@example.com", password: "Bob-e2e-password-1!", sub: "" };
    await createTestUser(cognito, bob.email, bob.password);
    bob.sub = (await signInForTest(cognito, bob.email, bob.password)).sub;
    for (const [user, prewarm] of [
      [alice, true],
      [bob, false],
    ] as const) {
      const { accessToken } = await signInForTest(cognito, user.email, user.password);
      const res = await fetch(`${appUrl}/api/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          provider: "openai-compatible",
          model: "fake-model",
          baseUrl: `${llm.url}/v1`,
          apiKey: "sk-local-e2e",
          prewarm,
          runTimeoutSeconds: 120,
        }),
      });
      if (!res.ok)
        throw new Error(`could not store settings for ${user.email}: ${res.status} ${await res.text()}`);
    }

    const info: E2eInfo = {
      appUrl,
      llmControlUrl: control.url,
      llmUrl: llm.url,
      eventsRealtimeEndpoint: cloud.info.events.realtimeEndpoint,
      eventsHost: new URL(cloud.info.events.httpEndpoint).host,
      stateDir: dir,
      cognito: { endpoint: cognito.endpoint, clientId: cognito.clientId },
      users: { alice, bob },
    };
    const file = join(dir, "e2e-info.json");
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
    process.env[E2E_INFO_ENV] = file;
    console.log(`[e2e] app ${appUrl}, state ${dir}`);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}
