import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { newUserId } from "../testing/port-contracts/helpers";
import { describeSecretStoreContract } from "../testing/port-contracts/secret-store";
import { FileSecretStore } from "./file-secret-store";

const parent = mkdtempSync(join(tmpdir(), "secrets-"));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describeSecretStoreContract("FileSecretStore", () => new FileSecretStore({ dir: join(parent, "contract") }));

describe("FileSecretStore specifics", () => {
  it("encrypts at rest: no plain text in any file, key and files readable by the owner only", async () => {
    const dir = join(parent, "at-rest");
    const store = new FileSecretStore({ dir });
    const user = newUserId();
    await store.putSecret(user, "llm-api-key", "sk-plaintext-canary");
    const files = readdirSync(dir).sort();
    expect(files).toEqual([`${user}.secrets`, "secrets.key"].sort());
    for (const f of files) {
      expect(readFileSync(join(dir, f), "utf8")).not.toContain("sk-plaintext-canary");
      expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
    }
  });

  it("reads secrets written by an earlier instance (a restart)", async () => {
    const dir = join(parent, "restart");
    const user = newUserId();
    await new FileSecretStore({ dir }).putSecret(user, "llm-api-key", "sk-persisted");
    expect(await new FileSecretStore({ dir }).getSecret(user, "llm-api-key")).toBe("sk-persisted");
  });

  it("refuses a file copied to another user's name, without revealing its content", async () => {
    const dir = join(parent, "copied");
    const store = new FileSecretStore({ dir });
    const alice = newUserId();
    const mallory = newUserId();
    await store.putSecret(alice, "llm-api-key", "sk-alice-canary");
    copyFileSync(join(dir, `${alice}.secrets`), join(dir, `${mallory}.secrets`));
    const err = await store.getSecret(mallory, "llm-api-key").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("internal");
    expect(String(err)).not.toContain("sk-alice-canary");
  });

  it("serializes concurrent writes of one user: the last one wins, no temporary file is left", async () => {
    const dir = join(parent, "concurrent");
    const store = new FileSecretStore({ dir });
    const user = newUserId();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.putSecret(user, "llm-api-key", `sk-${i}`)));
    expect(await store.getSecret(user, "llm-api-key")).toBe("sk-19");
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("shares one key between two stores created at once on a new folder", async () => {
    const dir = join(parent, "race");
    const a = new FileSecretStore({ dir });
    const b = new FileSecretStore({ dir });
    const [ua, ub] = [newUserId(), newUserId()];
    await Promise.all([a.putSecret(ua, "llm-api-key", "sk-a"), b.putSecret(ub, "llm-api-key", "sk-b")]);
    expect(await b.getSecret(ua, "llm-api-key")).toBe("sk-a");
    expect(await a.getSecret(ub, "llm-api-key")).toBe("sk-b");
  });
});
