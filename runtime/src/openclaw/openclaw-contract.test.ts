import { readFile } from "node:fs/promises";
import { describe, expect, expectTypeOf, it } from "vitest";

/*
 * Pins the part of OpenClaw the worker relies on. `getReplyFromConfig` is a public export
 * of the `openclaw` package but not a documented embedding API, so an upgrade must fail
 * here (and in tsc, through the type checks below) before it fails in production.
 */

type OpenClaw = typeof import("openclaw");
type ReplyOptions = NonNullable<Parameters<OpenClaw["getReplyFromConfig"]>[1]>;
type ReplyContext = Parameters<OpenClaw["getReplyFromConfig"]>[0];

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
});
