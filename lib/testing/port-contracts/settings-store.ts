import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, type Settings } from "../../contracts";
import { AppError } from "../../errors";
import type { SettingsStore } from "../../ports";
import { newUserId } from "./helpers";

/** The SettingsStore contract: every implementation must pass it. */
export function describeSettingsStoreContract(
  name: string,
  makeStore: () => SettingsStore | Promise<SettingsStore>,
): void {
  describe(`SettingsStore contract: ${name}`, () => {
    let store: SettingsStore;
    beforeAll(async () => {
      store = await makeStore();
    });

    it("returns the defaults for a user who never saved any", async () => {
      expect(await store.getSettings(newUserId())).toEqual(DEFAULT_SETTINGS);
    });

    it("stores settings per user", async () => {
      const alice = newUserId();
      const bob = newUserId();
      const custom: Settings = {
        provider: "openai-compatible",
        model: "local-model",
        baseUrl: "http://127.0.0.1:9999/v1",
        idleTimeoutMinutes: 5,
        prewarm: false,
        runTimeoutSeconds: 120,
      };
      await store.putSettings(alice, custom);
      expect(await store.getSettings(alice)).toEqual(custom);
      expect(await store.getSettings(bob)).toEqual(DEFAULT_SETTINGS);

      const { baseUrl: _b, ...withoutBaseUrl } = custom;
      await store.putSettings(alice, { ...withoutBaseUrl, provider: "anthropic" });
      expect(await store.getSettings(alice)).toEqual({ ...withoutBaseUrl, provider: "anthropic" });
    });

    it("rejects invalid settings with bad_request and keeps the previous ones", async () => {
      const user = newUserId();
      await store.putSettings(user, { ...DEFAULT_SETTINGS, idleTimeoutMinutes: 30 });
      const err = await store.putSettings(user, { ...DEFAULT_SETTINGS, idleTimeoutMinutes: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("bad_request");
      expect((await store.getSettings(user)).idleTimeoutMinutes).toBe(30);
    });
  });
}
