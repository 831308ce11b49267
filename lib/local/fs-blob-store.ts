import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { checkBlobKey, checkBlobPrefix } from "../aws/blob-keys";
import { AppError } from "../errors";
import type { BlobStore } from "../ports";

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * BlobStore on the local filesystem: key `a/b/c` is the file `<dir>/a/b/c`. Keys are
 * validated (lib/aws/blob-keys.ts) and every resolved path is checked to stay under the
 * root. Writes go to a temporary file and are renamed into place, so a crash never leaves
 * half a snapshot. The etag is the content's MD5, as S3 reports for single-part uploads.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;

  constructor(opts: { dir: string }) {
    this.root = resolve(opts.dir);
  }

  private pathOf(key: string): string {
    const path = resolve(this.root, checkBlobKey(key));
    if (!path.startsWith(this.root + sep)) throw new AppError("bad_request", "invalid blob key");
    return path;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array, _opts?: { contentType?: string }): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.tmp-${randomBytes(8).toString("hex")}`);
    try {
      await writeFile(tmp, body, { mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async list(prefix: string): Promise<{ key: string; size: number; etag?: string }[]> {
    checkBlobPrefix(prefix);
    // Walk only the deepest directory the prefix names; the rest is a string match, as in S3.
    const slash = prefix.lastIndexOf("/");
    const base = slash >= 0 ? prefix.slice(0, slash) : "";
    const out: { key: string; size: number; etag?: string }[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(relDir ? join(this.root, relDir) : this.root, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(".")) continue;
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (rel.startsWith(prefix) || prefix.startsWith(`${rel}/`)) await walk(rel);
        } else if (entry.isFile() && rel.startsWith(prefix)) {
          const path = join(this.root, rel);
          const [info, data] = await Promise.all([stat(path), readFile(path)]);
          out.push({ key: rel, size: info.size, etag: createHash("md5").update(data).digest("hex") });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await rm(path, { force: true });
    // Drop directories the delete emptied, so listings and the state folder stay tidy.
    for (let dir = dirname(path); dir.startsWith(this.root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST" || isNotFound(err)) break;
        throw err;
      }
    }
  }
}
