import { z } from "zod";
import type { Adapters } from "../adapters";
import { agentChannel, nowIso, providerSchema, type Settings, settingsSchema } from "../contracts";
import { AppError } from "../errors";

/** What the API shows: the settings, and whether a key is stored, never the key. */
export type SettingsView = Settings & { hasApiKey: boolean };

const httpUrl = z
  .string()
  .url()
  .max(500)
  .refine((u) => /^https?:\/\//i.test(u), "baseUrl must be an http or https URL");

/**
 * A partial update. `apiKey` is write-only: a string stores it, `null` deletes it.
 * `baseUrl: null` clears it. Unknown fields are an error, so a typo is not silently ignored.
 */
export const updateSettingsSchema = z
  .object({
    provider: providerSchema.optional(),
    model: settingsSchema.shape.model.optional(),
    baseUrl: httpUrl.nullable().optional(),
    idleTimeoutMinutes: settingsSchema.shape.idleTimeoutMinutes.optional(),
    prewarm: z.boolean().optional(),
    runTimeoutSeconds: settingsSchema.shape.runTimeoutSeconds.optional(),
    apiKey: z
      .string()
      .trim()
      .min(1, "apiKey must not be empty (send null to remove it)")
      .max(1_000)
      .regex(/^\S+$/, "apiKey must not contain spaces")
      .nullable()
      .optional(),
  })
  .strict();
export type UpdateSettingsInput = z.infer<typeof updateSettingsSchema>;

export async function getSettingsView(
  ports: Pick<Adapters, "settingsStore" | "secrets">,
  userId: string,
): Promise<SettingsView> {
  const [settings, hasApiKey] = await Promise.all([
    ports.settingsStore.getSettings(userId),
    ports.secrets.hasSecret(userId, "llm-api-key"),
  ]);
  return { ...settings, hasApiKey };
}

export async function updateSettings(
  ports: Pick<Adapters, "settingsStore" | "secrets" | "publisher">,
  userId: string,
  input: UpdateSettingsInput,
): Promise<SettingsView> {
  const { apiKey, baseUrl, ...rest } = input;
  const current = await ports.settingsStore.getSettings(userId);
  const merged: Settings = { ...current, ...stripUndefined(rest) };
  if (baseUrl === null) delete merged.baseUrl;
  else if (baseUrl !== undefined) merged.baseUrl = baseUrl;
  if (merged.provider === "openai-compatible" && !merged.baseUrl) {
    throw new AppError("bad_request", "baseUrl is required for an OpenAI-compatible provider");
  }
  const checked = settingsSchema.safeParse(merged);
  if (!checked.success) {
    throw new AppError("bad_request", checked.error.issues.map((i) => i.message).join("; "));
  }

  await ports.settingsStore.putSettings(userId, checked.data);
  if (apiKey === null) await ports.secrets.deleteSecret(userId, "llm-api-key");
  else if (apiKey !== undefined) await ports.secrets.putSecret(userId, "llm-api-key", apiKey);

  try {
    await ports.publisher.publish(agentChannel(userId), [{ type: "settings", at: nowIso() }]);
  } catch (err) {
    // Stored already; a runtime that missed this reads the settings on its next start.
    console.warn("updateSettings: publishing the settings event failed", (err as Error).message);
  }
  return getSettingsView(ports, userId);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
