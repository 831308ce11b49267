import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_SETTINGS, type Settings, settingsSchema } from "../contracts";
import { AppError } from "../errors";
import type { SettingsStore } from "../ports";
import { type DynamoStoreOptions, keys } from "./dynamo-keys";

/**
 * Merges stored settings over DEFAULT_SETTINGS, keeping only fields that still validate.
 * A row written by an older version (a removed provider, a limit that shrank) falls back
 * field by field instead of breaking the settings page.
 */
export function mergeSettings(stored: unknown): Settings {
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  if (stored && typeof stored === "object") {
    const shape = settingsSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    for (const [key, value] of Object.entries(stored)) {
      const field = shape[key];
      if (field?.safeParse(value).success) merged[key] = value;
    }
  }
  return settingsSchema.parse(merged);
}

/** SettingsStore on the single table: one row per user (`USER#<uid>`, `SETTINGS`). */
export class DynamoSettingsStore implements SettingsStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(opts: DynamoStoreOptions) {
    this.doc = opts.client;
    this.table = opts.tableName;
  }

  async getSettings(userId: string): Promise<Settings> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.settingsSk },
        ConsistentRead: true,
      }),
    );
    return mergeSettings(res.Item?.settings);
  }

  async putSettings(userId: string, settings: Settings): Promise<void> {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      throw new AppError("bad_request", `invalid settings: ${detail}`);
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: keys.user(userId),
          sk: keys.settingsSk,
          entity: "settings",
          settings: parsed.data,
          updatedAt: new Date().toISOString(),
        },
      }),
    );
  }
}
