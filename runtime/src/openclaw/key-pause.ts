/*
 * OpenClaw pauses a provider's inline API key (`models.providers.<id>.apiKey`, the only way
 * we hand it a key) after the provider rejects it: an auth failure cools the key down for
 * 30 s to 5 min, a billing or permanent auth failure disables it for 10 min or more. The
 * pause is kept per provider id, not per key, under the usage id `inline-api-key:<id>` in
 * the agent's auth state (OpenClaw's `resolveInlineProviderApiKeyUsageId`), and it survives
 * restarts. While it lasts, every run fails before calling the provider, with a generic
 * reply that does not say why. These pure helpers read and clear that state; the worker
 * applies them to OpenClaw's store through the plugin SDK's `updateAuthProfileStoreWithLock`.
 */

const INLINE_KEY_USAGE_PREFIX = "inline-api-key:";

/** OpenClaw's usage id for a provider's inline key (provider ids compare in lower case). */
export function inlineKeyUsageId(providerId: string): string {
  return `${INLINE_KEY_USAGE_PREFIX}${providerId.trim().toLowerCase()}`;
}

/** The part of OpenClaw's `ProfileUsageStats` that says whether and why a key is paused. */
export interface KeyUsageStats {
  cooldownUntil?: number;
  cooldownReason?: string;
  disabledUntil?: number;
  disabledReason?: string;
}

/** Why the provider's key is paused: it was rejected (`auth`) or its account cannot pay (`billing`). */
export type KeyPauseReason = "auth" | "billing";

function reasonOf(raw: string | undefined): KeyPauseReason | undefined {
  if (raw === "auth" || raw === "auth_permanent") return "auth";
  if (raw === "billing") return "billing";
  return undefined;
}

/** Whether OpenClaw holds back the provider's inline key at `now`, and for which failure. */
export function inlineKeyPause(
  usageStats: Readonly<Record<string, KeyUsageStats>> | undefined,
  providerId: string,
  now: number,
): KeyPauseReason | undefined {
  const stats = usageStats?.[inlineKeyUsageId(providerId)];
  if (!stats) return undefined;
  // A disable (billing, permanent auth) outranks a cooldown, as in OpenClaw's own reading.
  if (typeof stats.disabledUntil === "number" && stats.disabledUntil > now)
    return reasonOf(stats.disabledReason) ?? reasonOf(stats.cooldownReason);
  if (typeof stats.cooldownUntil === "number" && stats.cooldownUntil > now)
    return reasonOf(stats.cooldownReason);
  return undefined;
}

/**
 * Drops every inline key's failure record (all our providers use inline keys). Returns
 * whether anything was dropped; `usageStats` is changed in place, as OpenClaw's store
 * updater expects.
 */
export function clearInlineKeyPauses(usageStats: Record<string, unknown> | undefined): boolean {
  let changed = false;
  for (const id of Object.keys(usageStats ?? {})) {
    if (!id.startsWith(INLINE_KEY_USAGE_PREFIX)) continue;
    delete usageStats?.[id];
    changed = true;
  }
  return changed;
}
