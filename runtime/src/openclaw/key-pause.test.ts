import { describe, expect, it } from "vitest";
import { clearInlineKeyPauses, inlineKeyPause, inlineKeyUsageId } from "./key-pause";

const now = 1_800_000_000_000;

describe("inlineKeyPause", () => {
  it("reads OpenClaw's record for the provider's inline key", () => {
    expect(inlineKeyUsageId("custom")).toBe("inline-api-key:custom");
    expect(inlineKeyUsageId(" OpenAI ")).toBe("inline-api-key:openai");
    const stats = { "inline-api-key:custom": { cooldownUntil: now + 30_000, cooldownReason: "auth" } };
    expect(inlineKeyPause(stats, "custom", now)).toBe("auth");
    expect(inlineKeyPause(stats, "anthropic", now)).toBeUndefined();
    expect(inlineKeyPause(undefined, "custom", now)).toBeUndefined();
  });

  it("is over when the window has passed", () => {
    const stats = { "inline-api-key:custom": { cooldownUntil: now, cooldownReason: "auth" } };
    expect(inlineKeyPause(stats, "custom", now)).toBeUndefined();
    expect(inlineKeyPause(stats, "custom", now - 1)).toBe("auth");
  });

  it("names a billing or permanent auth disable, ahead of a cooldown", () => {
    const billing = {
      "inline-api-key:openai": {
        disabledUntil: now + 600_000,
        disabledReason: "billing",
        cooldownReason: "auth",
      },
    };
    expect(inlineKeyPause(billing, "openai", now)).toBe("billing");
    const revoked = {
      "inline-api-key:openai": { disabledUntil: now + 600_000, disabledReason: "auth_permanent" },
    };
    expect(inlineKeyPause(revoked, "openai", now)).toBe("auth");
  });

  it("ignores a pause for a reason that is not about the key", () => {
    const stats = { "inline-api-key:custom": { cooldownUntil: now + 30_000, cooldownReason: "timeout" } };
    expect(inlineKeyPause(stats, "custom", now)).toBeUndefined();
  });
});

describe("clearInlineKeyPauses", () => {
  it("drops every inline key record and keeps the rest", () => {
    const stats: Record<string, unknown> = {
      "inline-api-key:custom": { cooldownUntil: now },
      "inline-api-key:anthropic": { disabledUntil: now },
      "anthropic:default": { lastUsed: now },
    };
    expect(clearInlineKeyPauses(stats)).toBe(true);
    expect(stats).toEqual({ "anthropic:default": { lastUsed: now } });
    expect(clearInlineKeyPauses(stats)).toBe(false);
    expect(clearInlineKeyPauses(undefined)).toBe(false);
  });
});
