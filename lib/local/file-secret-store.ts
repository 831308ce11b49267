import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { type SecretName, secretNameSchema, userIdSchema } from "../contracts";
import { AppError } from "../errors";
import type { SecretStore } from "../ports";

const KEY_FILE = "secrets.key";
const fileSchema = z.object({
  v: z.literal(1),
  iv: z.string(),
  tag: z.string(),
  data: z.string(),
});
const valuesSchema = z.record(z.string(), z.string());

function checkUser(userId: string): string {
  if (!userIdSchema.safeParse(userId).success) throw new AppError("bad_request", "invalid user id");
  return userId;
}

function checkName(name: string): SecretName {
  const parsed = secretNameSchema.safeParse(name);
  if (!parsed.success) throw new AppError("bad_request", "unknown secret name");
  return parsed.data;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * SecretStore for local mode: one AES-256-GCM encrypted JSON file per user
 * (`<dir>/<userId>.secrets`), keyed by a random 32-byte key in `<dir>/secrets.key` (mode
 * 0600, created on first use). The user id is the GCM associated data, so a file copied
 * to another user's name does not decrypt. This keeps keys out of plain-text files,
 * backups of the data alone and `grep`; it is not protection against someone who can read
 * the whole state folder. Values never appear in errors or logs.
 */
export class FileSecretStore implements SecretStore {
  private readonly dir: string;
  private key: Promise<Buffer> | undefined;
  /** Read-modify-write of one user's file is serialized within this process. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(opts: { dir: string }) {
    this.dir = resolve(opts.dir);
  }

  private loadKey(): Promise<Buffer> {
    this.key ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const path = join(this.dir, KEY_FILE);
      try {
        // "wx": of two processes creating the key at once, one wins and the other reads it.
        await writeFile(path, randomBytes(32).toString("base64"), { flag: "wx", mode: 0o600 });
      } catch (err) {
        if (errno(err) !== "EEXIST") throw err;
      }
      const key = Buffer.from((await readFile(path, "utf8")).trim(), "base64");
      if (key.length !== 32) throw new AppError("internal", `secret key file ${path} is corrupt`);
      return key;
    })();
    // A failed load is retried on the next call instead of being cached.
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  private fileOf(userId: string): string {
    return join(this.dir, `${checkUser(userId)}.secrets`);
  }

  private async readAll(userId: string): Promise<Record<string, string>> {
    let raw: string;
    try {
      raw = await readFile(this.fileOf(userId), "utf8");
    } catch (err) {
      if (errno(err) === "ENOENT") return {};
      throw err;
    }
    const key = await this.loadKey();
    try {
      const file = fileSchema.parse(JSON.parse(raw));
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(file.iv, "base64"));
      decipher.setAAD(Buffer.from(userId, "utf8"));
      decipher.setAuthTag(Buffer.from(file.tag, "base64"));
      const plain = Buffer.concat([decipher.update(Buffer.from(file.data, "base64")), decipher.final()]);
      return valuesSchema.parse(JSON.parse(plain.toString("utf8")));
    } catch (err) {
      // Never include the cause's text: a parse error could quote decrypted content.
      throw new AppError("internal", `secrets of user ${userId} cannot be decrypted`, {
        cause: err instanceof AppError ? err : undefined,
      });
    }
  }

  private async writeAll(userId: string, values: Record<string, string>): Promise<void> {
    const path = this.fileOf(userId);
    if (Object.keys(values).length === 0) {
      await rm(path, { force: true });
      return;
    }
    const key = await this.loadKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(userId, "utf8"));
    const data = Buffer.concat([cipher.update(JSON.stringify(values), "utf8"), cipher.final()]);
    const body = JSON.stringify({
      v: 1,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    });
    const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
    try {
      await writeFile(tmp, body, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private serialize<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(userId, settled);
    void settled.then(() => {
      if (this.queues.get(userId) === settled) this.queues.delete(userId);
    });
    return next;
  }

  async getSecret(userId: string, name: SecretName): Promise<string | undefined> {
    checkName(name);
    return (await this.readAll(checkUser(userId)))[name];
  }

  async putSecret(userId: string, name: SecretName, value: string): Promise<void> {
    checkName(name);
    checkUser(userId);
    if (typeof value !== "string" || value.length === 0 || value.length > 4096)
      throw new AppError("bad_request", "secret value must be 1-4096 characters");
    await this.serialize(userId, async () => {
      const values = await this.readAll(userId);
      values[name] = value;
      await this.writeAll(userId, values);
    });
  }

  async deleteSecret(userId: string, name: SecretName): Promise<void> {
    checkName(name);
    checkUser(userId);
    await this.serialize(userId, async () => {
      const values = await this.readAll(userId);
      if (!(name in values)) return;
      delete values[name];
      await this.writeAll(userId, values);
    });
  }

  async hasSecret(userId: string, name: SecretName): Promise<boolean> {
    return (await this.getSecret(userId, name)) !== undefined;
  }
}
