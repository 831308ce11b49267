import type { Settings } from "../../../lib/contracts";
import type { SecretStore, SettingsStore } from "../../../lib/ports";
import type { EngineSettings } from "../engine";

export interface LoadedSettings {
  settings: Settings;
  engine: EngineSettings;
}

/** The user's settings and API key, as the engine needs them. Both reads run in parallel. */
export async function loadEngineSettings(
  settingsStore: SettingsStore,
  secrets: SecretStore,
  userId: string,
): Promise<LoadedSettings> {
  const [settings, apiKey] = await Promise.all([
    settingsStore.getSettings(userId),
    secrets.getSecret(userId, "llm-api-key"),
  ]);
  return {
    settings,
    engine: {
      provider: settings.provider,
      model: settings.model,
      baseUrl: settings.baseUrl,
      apiKey: apiKey || undefined,
      runTimeoutSeconds: settings.runTimeoutSeconds,
    },
  };
}
