import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, expectTypeOf, it } from "vitest";
import { OPENCLAW_CONTINUATION_PROMPT, OPENCLAW_QUEUED_MESSAGE_MARKER } from "../../../e2e/fixtures/fake-llm";
import type { Provider } from "../../../lib/contracts";
import { buildChildEnv } from "./child-env";
import { writeOpenClawConfig } from "./config";
import type { KeyUsageStats } from "./key-pause";

/*
 * Pins the part of OpenClaw the worker relies on. `getReplyFromConfig` is a public export
 * of the `openclaw` package but not a documented embedding API, so an upgrade must fail
 * here (and in tsc, through the type checks below) before it fails in production.
 */

type OpenClaw = typeof import("openclaw");
type ReplyOptions = NonNullable<Parameters<OpenClaw["getReplyFromConfig"]>[1]>;
type ReplyContext = Parameters<OpenClaw["getReplyFromConfig"]>[0];
type UpdateAuthStore = typeof import("openclaw/plugin-sdk/provider-auth")["updateAuthProfileStoreWithLock"];
type AuthStore = Parameters<Parameters<UpdateAuthStore>[0]["updater"]>[0];

describe("openclaw API contract", () => {
  it("is the pinned version", async () => {
    const pkg = JSON.parse(
      await readFile(new URL("../../node_modules/openclaw/package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(pkg.version).toBe("2026.9.6");
    const ours = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(ours.dependencies.openclaw).toBe("2026.9.6");
  });

  it("exports getReplyFromConfig and loadConfig from the package root", async () => {
    const openclaw = await import("openclaw");
    expect(openclaw.getReplyFromConfig).toBeTypeOf("function");
    expect(openclaw.getReplyFromConfig.name).toBe("getReplyFromConfig");
    expect(openclaw.loadConfig).toBeTypeOf("function");
    expect(openclaw.loadConfig.length).toBe(1);
  }, 60_000);

  it("takes the context fields and options the worker uses", () => {
    expectTypeOf<ReplyContext>().toHaveProperty("Body");
    expectTypeOf<ReplyContext>().toHaveProperty("BodyForAgent");
    expectTypeOf<ReplyContext>().toHaveProperty("SessionKey");
    expectTypeOf<ReplyContext>().toHaveProperty("CommandAuthorized");
    expectTypeOf<ReplyOptions>().toHaveProperty("abortSignal").toEqualTypeOf<AbortSignal | undefined>();
    expectTypeOf<ReplyOptions>().toHaveProperty("runId");
    expectTypeOf<ReplyOptions>().toHaveProperty("timeoutOverrideSeconds");
    expectTypeOf<ReplyOptions>().toHaveProperty("onPartialReply");
    expectTypeOf<ReplyOptions>().toHaveProperty("onAssistantMessageStart");
    expectTypeOf<ReplyOptions>().toHaveProperty("onItemEvent");
    expectTypeOf<ReplyOptions>().toHaveProperty("onAgentRunStart");
    expectTypeOf<Parameters<OpenClaw["loadConfig"]>[0]>().toEqualTypeOf<
      { skipPluginValidation?: boolean; pin?: boolean; skipShellEnvFallback?: boolean } | undefined
    >();
  });

  it("lets the worker read and clear the auth state where OpenClaw pauses a rejected key (./key-pause.ts)", async () => {
    const sdk = await import("openclaw/plugin-sdk/provider-auth");
    expect(sdk.updateAuthProfileStoreWithLock).toBeTypeOf("function");
    expectTypeOf<AuthStore["usageStats"]>().toExtend<Record<string, KeyUsageStats> | undefined>();
    // The record's id; the engine test shows a 401 writes it and a settings save lifts it.
    const dist = fileURLToPath(new URL("../../node_modules/openclaw/dist/", import.meta.url));
    const usageState = (await readdir(dist)).find((f) => f.startsWith("usage-state-"));
    expect(await readFile(`${dist}${usageState}`, "utf8")).toMatch(
      /function resolveInlineProviderApiKeyUsageId\(provider\) \{\s*return `inline-api-key:\$\{normalizeProviderId\(provider\)\}`;/,
    );
  }, 60_000);

  it("retries a failed provider call with the prompts the fake LLM reads back", async () => {
    const dist = fileURLToPath(new URL("../../node_modules/openclaw/dist/", import.meta.url));
    const texts = await Promise.all(
      (await readdir(dist)).filter((f) => f.endsWith(".mjs")).map((f) => readFile(`${dist}${f}`, "utf8")),
    );
    const all = texts.join("\n");
    expect(all).toContain(`const CONTINUATION_PROMPT = "${OPENCLAW_CONTINUATION_PROMPT}`);
    expect(all).toContain(`const QUEUED_USER_MESSAGE_MARKER = "${OPENCLAW_QUEUED_MESSAGE_MARKER}";`);
  }, 60_000);

  it("accepts the config we write for every provider (OpenClaw's schema rejects unknown keys)", async () => {
    const bin = fileURLToPath(new URL("../../node_modules/openclaw/openclaw.mjs", import.meta.url));
    const dir = await mkdtemp(join(tmpdir(), "oc-validate-"));
    try {
      const cases: Array<[Provider, string | undefined]> = [
        ["anthropic", undefined],
        ["openai", undefined],
        ["openai-compatible", "http://127.0.0.1:9/v1"],
      ];
      for (const [provider, baseUrl] of cases) {
        const stateDir = join(dir, provider);
        const configPath = await writeOpenClawConfig(
          { provider, model: "some-model", baseUrl, apiKey: "sk-validate", runTimeoutSeconds: 60 },
          { stateDir },
        );
        const env = buildChildEnv(process.env, { stateDir, configPath, compileCacheDir: join(dir, "cache") });
        const { stdout } = await promisify(execFile)(process.execPath, [bin, "config", "validate"], {
          env: env as NodeJS.ProcessEnv,
        });
        expect(stdout).toContain("Config valid");
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
