import type { Provider } from "../../../lib/contracts";
import { EngineError } from "../engine";
import type { KeyPauseReason } from "./key-pause";

/*
 * OpenClaw reports a failed turn as a reply whose text is its own user-facing copy, e.g.
 * "⚠️ anthropic/claude request failed (authentication failed, HTTP 401). Re-authenticate ...",
 * built from a classified reason and an HTTP status. We read those two facts back and give
 * the person a message that says what to do in this product.
 */

const PROVIDER_NAMES: Record<Provider, string> = {
  anthropic: "Anthropic",
  openai: "OpenAI",
  "openai-compatible": "the model provider",
};

export function missingApiKeyError(provider: Provider): EngineError {
  return new EngineError(
    "missing_api_key",
    `No API key is set for ${PROVIDER_NAMES[provider]}. Add your key in Settings, then send the message again.`,
  );
}

function providerName(provider: Provider): string {
  const name = PROVIDER_NAMES[provider];
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** The provider refused the key: the same message whether it just answered 401 or OpenClaw holds the key back since. */
export function invalidApiKeyError(provider: Provider, cause?: unknown): EngineError {
  return new EngineError(
    "invalid_api_key",
    `${providerName(provider)} rejected the API key. Check the key in Settings (and that it may use this model), then try again.`,
    cause === undefined ? undefined : { cause },
  );
}

function billingError(provider: Provider, cause?: unknown): EngineError {
  return new EngineError(
    "runtime_failed",
    `${providerName(provider)} reported a billing problem with this key. Check your account.`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A run that failed while OpenClaw held the provider's key back after the provider had
 * rejected it (see ./key-pause.ts): OpenClaw's own reply then only says that something
 * went wrong, so the reason comes from its auth state.
 */
export function pausedKeyError(reason: KeyPauseReason, provider: Provider, replyText: string): EngineError {
  const cause = new Error(replyText.slice(0, 500));
  return reason === "billing" ? billingError(provider, cause) : invalidApiKeyError(provider, cause);
}

export function abortedError(): EngineError {
  return new EngineError("aborted", "Stopped.");
}

export function runTimeoutError(seconds: number, cause?: unknown): EngineError {
  return new EngineError(
    "run_timeout",
    `The agent worked for more than ${seconds} seconds and was stopped. Ask for a smaller step, or raise the run time limit in Settings.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Maps OpenClaw's error reply (or a thrown error's message) to an EngineError. */
export function classifyOpenClawError(
  text: string,
  provider: Provider,
  runTimeoutSeconds: number,
): EngineError {
  const Name = providerName(provider);
  const lower = text.toLowerCase();
  const status = Number(
    /\b(?:HTTP|status) (\d{3})\b/i.exec(text)?.[1] ?? /^(\d{3}) /.exec(text)?.[1] ?? Number.NaN,
  );
  const cause = { cause: new Error(text.slice(0, 500)) };

  if (
    /authentication (failed|was rejected)|invalid api key|incorrect api key|unauthorized|no api key|api key/.test(
      lower,
    ) ||
    status === 401 ||
    status === 403
  ) {
    if (/no api key|missing api key|api key (is )?(not set|missing|required)/.test(lower)) {
      return missingApiKeyError(provider);
    }
    return invalidApiKeyError(provider, cause.cause);
  }
  if (/rate.?limit|too many requests|quota/.test(lower) || status === 429) {
    return new EngineError(
      "rate_limited",
      `${Name} is rate-limiting requests for this key. Wait a minute and try again, or check your plan's limits.`,
      cause,
    );
  }
  if (/run (timed out|timeout)|agent (run )?timed out|exceeded .*timeout|timeoutseconds/.test(lower)) {
    return runTimeoutError(runTimeoutSeconds, cause.cause);
  }
  if (
    /provider internal error|provider overloaded|request timed out|connection refused|econnrefused|enotfound|fetch failed|network|unreachable|socket hang up|service unavailable|bad gateway/.test(
      lower,
    ) ||
    (status >= 500 && status <= 599) ||
    status === 408
  ) {
    return new EngineError(
      "provider_unavailable",
      `${Name} did not answer properly (it may be down, overloaded or unreachable). Try again in a moment.`,
      cause,
    );
  }
  if (/model not found/.test(lower) || status === 404) {
    return new EngineError(
      "runtime_failed",
      `${Name} does not know the model you chose. Check the model name in Settings.`,
      cause,
    );
  }
  if (/billing/.test(lower)) return billingError(provider, cause.cause);
  return new EngineError(
    "runtime_failed",
    "The agent failed to answer. Try again; if it keeps failing, check Settings.",
    cause,
  );
}
