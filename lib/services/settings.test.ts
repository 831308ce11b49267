import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, DEFAULT_SETTINGS } from "../contracts";
import { FileSecretStore } from "../local/file-secret-store";
import { RecordingPublisher, type ServiceHarness, startServiceHarness } from "../testing/services";
import { getSettingsView, updateSettings, updateSettingsSchema } from "./settings";

let h: ServiceHarness;
let dir: string;
beforeAll(async () => {
  h = await startServiceHarness();
  dir = mkdtempSync(join(tmpdir(), "settings-test-"));
});
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const publisher = new RecordingPublisher();
  const ports = { ...h.ports, publisher, secrets: new FileSecretStore({ dir }) };
  return { ports, publisher, userId: randomUUID() };
}

describe("settings", () => {
  it("starts from the defaults with no key", async () => {
    const { ports, userId } = setup();
    expect(await getSettingsView(ports, userId)).toEqual({ ...DEFAULT_SETTINGS, hasApiKey: false });
  });

  it("updates part of the settings, stores the key write-only, and tells the runtime", async () => {
    const { ports, publisher, userId } = setup();
    const input = updateSettingsSchema.parse({
      provider: "openai-compatible",
      model: "fake-model",
      baseUrl: "http://127.0.0.1:9999/v1",
      prewarm: false,
      apiKey: "sk-test-secret-value",
    });
    const view = await updateSettings(ports, userId, input);
    expect(view).toMatchObject({
      provider: "openai-compatible",
      model: "fake-model",
      baseUrl: "http://127.0.0.1:9999/v1",
      prewarm: false,
      idleTimeoutMinutes: DEFAULT_SETTINGS.idleTimeoutMinutes,
      hasApiKey: true,
    });
    expect(JSON.stringify(view)).not.toContain("sk-test-secret-value");
    expect(await ports.secrets.getSecret(userId, "llm-api-key")).toBe("sk-test-secret-value");
    // Not in plain text on disk either.
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f), "utf8")).not.toContain("sk-test-secret");
    expect(publisher.on(agentChannel(userId))).toMatchObject([{ type: "settings" }]);

    const cleared = await updateSettings(ports, userId, updateSettingsSchema.parse({ apiKey: null }));
    expect(cleared.hasApiKey).toBe(false);
    expect(cleared.model).toBe("fake-model");
  });

  it("requires a baseUrl for an OpenAI-compatible provider and leaves the settings as they were", async () => {
    const { ports, publisher, userId } = setup();
    await expect(
      updateSettings(ports, userId, updateSettingsSchema.parse({ provider: "openai-compatible" })),
    ).rejects.toMatchObject({ code: "bad_request", message: expect.stringContaining("baseUrl") });
    expect((await getSettingsView(ports, userId)).provider).toBe(DEFAULT_SETTINGS.provider);
    expect(publisher.published).toEqual([]);
  });

  it("rejects unknown fields, bad URLs, out-of-range numbers and keys with spaces", () => {
    for (const bad of [
      { colour: "blue" },
      { baseUrl: "javascript:alert(1)" },
      { baseUrl: "not a url" },
      { idleTimeoutMinutes: 0 },
      { runTimeoutSeconds: 1_000_000 },
      { apiKey: "sk with spaces" },
      { apiKey: "" },
      { provider: "skynet" },
    ]) {
      expect(updateSettingsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
