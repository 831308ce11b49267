import { describe, expect, it } from "vitest";
import { classifyOpenClawError, pausedKeyError } from "./errors";

// OpenClaw's own user-facing copy for failed turns, as seen from 2026.9.6 against the fake LLM.
const cases: Array<[string, string]> = [
  [
    "⚠️ Authentication failed (provider returned HTTP 401). Your provider token may have expired — try the request again in a moment. If the failure persists, re-authenticate this provider.",
    "invalid_api_key",
  ],
  ["⚠️ anthropic/claude request failed (authentication was rejected, HTTP 403).", "invalid_api_key"],
  [
    'Inline API key for provider "custom" is temporarily disabled after a provider auth/billing failure. Retry after about 1 minute.',
    "invalid_api_key",
  ],
  ["⚠️ The model request was rate-limited. Please try again in a few minutes.", "rate_limited"],
  ["⚠️ API rate limit reached. Please try again later.", "rate_limited"],
  [
    "⚠️ custom/fake-model request failed (provider internal error, HTTP 500). This is usually temporary — try again shortly.",
    "provider_unavailable",
  ],
  [
    "⚠️ fake/fake-model request failed (request timed out, HTTP 408). This is usually temporary — try again shortly.",
    "provider_unavailable",
  ],
  ["LLM request failed: connection refused by the provider endpoint.", "provider_unavailable"],
  ["⚠️ Something went wrong while processing your request. Please try again.", "runtime_failed"],
];

describe("classifyOpenClawError", () => {
  it.each(cases)("%s", (text, code) => {
    const err = classifyOpenClawError(text, "openai-compatible", 60);
    expect(err.code).toBe(code);
    // Messages are ours: they tell the person what to do here, never OpenClaw's /new advice.
    expect(err.message).not.toMatch(/\/new|re-authenticate/i);
    expect(err.message.length).toBeGreaterThan(20);
  });

  it("names the provider the user chose", () => {
    expect(classifyOpenClawError("HTTP 401", "anthropic", 60).message).toMatch(/^Anthropic /);
    expect(classifyOpenClawError("HTTP 429", "openai", 60).message).toMatch(/^OpenAI /);
  });

  it("reads a paused key as the rejection that caused the pause, whatever OpenClaw's reply says", () => {
    const generic =
      "⚠️ Something went wrong while processing your request. Please try again, or use /new to start a fresh session.";
    const rejected = classifyOpenClawError(cases[0]?.[0] ?? "", "openai", 60);
    const paused = pausedKeyError("auth", "openai", generic);
    expect(paused.code).toBe("invalid_api_key");
    expect(paused.message).toBe(rejected.message);
    const billing = pausedKeyError("billing", "openai", generic);
    expect(billing.message).toBe(classifyOpenClawError("billing issue on the account", "openai", 60).message);
  });
});
