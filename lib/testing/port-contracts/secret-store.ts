import { beforeAll, describe, expect, it } from "vitest";
import type { SecretName } from "../../contracts";
import { AppError } from "../../errors";
import type { SecretStore } from "../../ports";
import { newUserId } from "./helpers";

const NAME: SecretName = "llm-api-key";

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** The SecretStore contract: every implementation must pass it. */
export function describeSecretStoreContract(
  name: string,
  makeStore: () => SecretStore | Promise<SecretStore>,
): void {
  describe(`SecretStore contract: ${name}`, () => {
    let store: SecretStore;
    beforeAll(async () => {
      store = await makeStore();
    });

    it("has nothing for a new user", async () => {
      const user = newUserId();
      expect(await store.getSecret(user, NAME)).toBeUndefined();
      expect(await store.hasSecret(user, NAME)).toBe(false);
    });

    it("stores, replaces and deletes a secret, idempotently", async () => {
      const user = newUserId();
      await store.putSecret(user, NAME, "sk-first");
      expect(await store.getSecret(user, NAME)).toBe("sk-first");
      expect(await store.hasSecret(user, NAME)).toBe(true);
      const unicode = 'sk-ünïcødé-🔑-"quoted"';
      await store.putSecret(user, NAME, unicode);
      expect(await store.getSecret(user, NAME)).toBe(unicode);
      await store.deleteSecret(user, NAME);
      expect(await store.getSecret(user, NAME)).toBeUndefined();
      expect(await store.hasSecret(user, NAME)).toBe(false);
      await store.deleteSecret(user, NAME);
    });

    it("keeps each user's secrets to that user", async () => {
      const alice = newUserId();
      const bob = newUserId();
      await store.putSecret(alice, NAME, "sk-alice");
      expect(await store.getSecret(bob, NAME)).toBeUndefined();
      await store.putSecret(bob, NAME, "sk-bob");
      await store.deleteSecret(bob, NAME);
      expect(await store.getSecret(alice, NAME)).toBe("sk-alice");
    });

    it("rejects bad users, names and values with bad_request, without echoing the value", async () => {
      const user = newUserId();
      for (const attempt of [
        store.putSecret("../etc", NAME, "sk-leak-1"),
        store.putSecret("a/b", NAME, "sk-leak-2"),
        store.putSecret(user, "other" as SecretName, "sk-leak-3"),
        store.putSecret(user, NAME, ""),
        store.getSecret("a#b", NAME),
      ]) {
        const err = await caught(attempt);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe("bad_request");
        expect((err as Error).message).not.toMatch(/sk-leak/);
      }
    });
  });
}
