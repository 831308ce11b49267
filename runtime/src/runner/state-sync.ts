import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { BlobStore } from "../../../lib/ports";
import { describeError, type Logger } from "./log";

/*
 * OpenClaw's state (config, SQLite databases, workspace, skills) lives in a local folder
 * while the runtime runs; the blob store holds the durable copy. On start the folder is
 * restored from the blob store; during long sessions and on shutdown, files that changed
 * are uploaded and files that disappeared are deleted. SQLite files are snapshotted with
 * `VACUUM INTO` (a consistent copy even while OpenClaw writes), never copied live with
 * their WAL.
 */

/** Blob keys of one user's OpenClaw state. */
export function stateBlobPrefix(userId: string): string {
  return `users/${userId}/openclaw/`;
}

/**
 * Blob keys allow only letters, digits, `.`, `_` and `-`, and no segment may start with a
 * dot (lib/aws/blob-keys.ts), while OpenClaw's files may be called anything (`.gitignore`,
 * `my notes.md`). Each path segment is encoded reversibly: every byte outside
 * `[A-Za-z0-9.-]` (including `_` itself) and a leading `.` become `_` plus two hex digits.
 */
export function encodePathForKey(rel: string): string {
  return rel
    .split("/")
    .map((segment) => {
      let out = "";
      const bytes = Buffer.from(segment, "utf8");
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i] as number;
        const c = String.fromCharCode(b);
        const plain = /[A-Za-z0-9-]/.test(c) || (c === "." && i > 0);
        out += plain ? c : `_${b.toString(16).padStart(2, "0")}`;
      }
      return out;
    })
    .join("/");
}

/** The inverse of encodePathForKey; undefined for a key that is not one of its outputs. */
export function decodeKeyToPath(encoded: string): string | undefined {
  const segments: string[] = [];
  for (const segment of encoded.split("/")) {
    const bytes: number[] = [];
    for (let i = 0; i < segment.length; i++) {
      const c = segment[i] as string;
      if (c === "_") {
        const hex = segment.slice(i + 1, i + 3);
        if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else bytes.push(c.charCodeAt(0));
    }
    segments.push(Buffer.from(bytes).toString("utf8"));
  }
  return segments.join("/");
}

/** Marks a folder as ours, so the runtime only ever wipes a folder it created. */
export const STATE_MARKER = ".serverless-openclaw-state";

const EXCLUDED_DIRS = new Set([
  "logs",
  "log",
  "tmp",
  "cache",
  ".cache",
  ".npm",
  "node-compile-cache",
  "browser",
]);
/** Top-level files rewritten from the user's settings on every start (and holding the API key). */
const EXCLUDED_ROOT_FILES = new Set(["openclaw.json"]);
const EXCLUDED_SUFFIXES = ["-wal", "-shm", "-journal", ".lock", ".log", ".pid", ".sock", ".tmp"];
const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/** Default rule for what is not worth keeping: logs, caches, locks and SQLite side files. */
export function isExcludedPath(rel: string): boolean {
  const parts = rel.split("/");
  const name = parts[parts.length - 1] ?? "";
  if (name === STATE_MARKER) return true;
  if (parts.length === 1 && EXCLUDED_ROOT_FILES.has(name)) return true;
  if (parts.slice(0, -1).some((p) => EXCLUDED_DIRS.has(p))) return true;
  // memory-core rebuilds its index in a scratch copy of the agent database.
  if (name.includes(".memory-reindex-")) return true;
  return EXCLUDED_SUFFIXES.some((s) => name.endsWith(s));
}

export interface StateSyncOptions {
  blobs: BlobStore;
  /** Blob key prefix, ending with `/`. */
  prefix: string;
  /** The local state folder (absolute). */
  dir: string;
  /** Scratch folder for SQLite snapshots (outside `dir`). */
  scratchDir: string;
  log: Logger;
  /** Values that must never leave the machine: a file containing one is not uploaded. */
  secrets: () => (string | undefined)[];
  exclude?: (rel: string) => boolean;
  concurrency?: number;
}

export interface SyncResult {
  uploaded: number;
  deleted: number;
  unchanged: number;
  skipped: number;
  bytes: number;
}

export class StateSync {
  /** What the blob store holds: relative path → sha256 of its content. */
  private readonly known = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();
  private restored = false;

  constructor(private readonly opts: StateSyncOptions) {}

  /** True once restore() has succeeded; before that a sync would delete the durable copy. */
  get isRestored(): boolean {
    return this.restored;
  }

  /**
   * Empties the state folder (only if it is ours or empty) and marks it as ours. The blob
   * store is the source of truth, as it is in a fresh container.
   */
  async prepareDir(): Promise<void> {
    const { dir } = this.opts;
    if (!isAbsolute(dir) || resolve(dir) === resolve("/"))
      throw new Error(`refusing to use ${dir} as state folder`);
    const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    if (entries.length > 0 && !entries.includes(STATE_MARKER))
      throw new Error(
        `state folder ${dir} is not empty and was not created by the runtime; refusing to wipe it`,
      );
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, STATE_MARKER), "created by the serverless-openclaw runtime; wiped on start\n");
    await mkdir(this.opts.scratchDir, { recursive: true });
  }

  /** Downloads every blob under the prefix into the state folder. */
  async restore(): Promise<{ files: number; bytes: number }> {
    const { blobs, prefix, dir } = this.opts;
    const listed = await blobs.list(prefix);
    let bytes = 0;
    await mapLimit(listed, this.opts.concurrency ?? 8, async ({ key }) => {
      const rel = decodeKeyToPath(key.slice(prefix.length));
      const target = rel === undefined ? undefined : safeJoin(dir, rel);
      if (!target) {
        this.opts.log("warn", "skipping a state blob with an unsafe path", { key: key.slice(0, 200) });
        return;
      }
      const body = await blobs.get(key);
      if (body === undefined) return;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, body);
      bytes += body.byteLength;
      this.known.set(rel as string, sha256(body));
    });
    this.restored = true;
    return { files: this.known.size, bytes };
  }

  /** Uploads what changed since the last sync or restore; runs one at a time. */
  sync(): Promise<SyncResult> {
    const next = this.chain.then(() => this.syncNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async syncNow(): Promise<SyncResult> {
    if (!this.restored) throw new Error("state was never restored; refusing to overwrite the durable copy");
    const { blobs, prefix, dir } = this.opts;
    const exclude = this.opts.exclude ?? isExcludedPath;
    const files = await walk(dir, exclude);
    const secrets = this.opts
      .secrets()
      .filter((s): s is string => typeof s === "string" && s.length >= 8)
      .map((s) => Buffer.from(s));
    const result: SyncResult = { uploaded: 0, deleted: 0, unchanged: 0, skipped: 0, bytes: 0 };
    const remove = async (rel: string) => {
      await blobs.delete(prefix + encodePathForKey(rel));
      this.known.delete(rel);
      result.deleted++;
    };
    // Deletions first: a file replaced by a folder of the same name must be gone before
    // the folder's files are put (the filesystem blob store cannot hold both).
    const present = new Set(files);
    for (const rel of [...this.known.keys()]) if (!present.has(rel)) await remove(rel);
    const vanished: string[] = [];
    await mapLimit(files, this.opts.concurrency ?? 4, async (rel) => {
      let body: Buffer | undefined;
      try {
        body = await this.readConsistent(join(dir, rel));
      } catch (err) {
        // Keep the last good copy in the blob store; the next sync tries again.
        result.skipped++;
        this.opts.log("warn", "could not read a state file", { file: rel, error: describeError(err) });
        return;
      }
      if (body === undefined) {
        vanished.push(rel);
        return;
      }
      if (secrets.some((s) => body.includes(s))) {
        result.skipped++;
        this.opts.log("warn", "not uploading a state file that contains a secret", { file: rel });
        return;
      }
      const hash = sha256(body);
      if (this.known.get(rel) === hash) {
        result.unchanged++;
        return;
      }
      await blobs.put(prefix + encodePathForKey(rel), body);
      this.known.set(rel, hash);
      result.uploaded++;
      result.bytes += body.byteLength;
    });
    for (const rel of vanished) if (this.known.has(rel)) await remove(rel);
    return result;
  }

  /** The file's bytes, or a snapshot for a SQLite database; undefined if it vanished. */
  private async readConsistent(path: string): Promise<Buffer | undefined> {
    try {
      if (await isSqlite(path)) return await this.snapshotSqlite(path);
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  private async snapshotSqlite(path: string): Promise<Buffer> {
    const out = join(this.opts.scratchDir, `${randomUUID()}.sqlite`);
    try {
      const db = new DatabaseSync(path, { readOnly: true, timeout: 5_000 });
      try {
        db.exec(`VACUUM INTO '${out.replaceAll("'", "''")}'`);
      } finally {
        db.close();
      }
      return await readFile(out);
    } finally {
      await rm(out, { force: true });
    }
  }
}

function sha256(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

async function isSqlite(path: string): Promise<boolean> {
  const info = await stat(path);
  if (info.size < 512) return false;
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    await handle.read(head, 0, head.length, 0);
    return head.equals(SQLITE_HEADER);
  } finally {
    await handle.close();
  }
}

/** Joins a blob-derived relative path under `dir`, or undefined when it would escape it. */
function safeJoin(dir: string, rel: string): string | undefined {
  if (!rel || rel.includes("\\") || rel.includes("\0") || isAbsolute(rel)) return undefined;
  if (rel.split("/").some((p) => p === ".." || p === "." || p === "")) return undefined;
  const target = resolve(dir, rel);
  return target.startsWith(resolve(dir) + sep) ? target : undefined;
}

/** Regular files under `dir` as `/`-separated relative paths, pruning excluded folders. */
async function walk(dir: string, exclude: (rel: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  async function visit(abs: string, rel: string): Promise<void> {
    const entries = await readdir(abs, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [];
      throw err;
    });
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // A folder is pruned when a file directly inside it would be excluded for its folder.
        if (exclude(`${childRel}/x`)) continue;
        await visit(join(abs, entry.name), childRel);
      } else if (entry.isFile() && !exclude(childRel)) {
        out.push(childRel);
      }
    }
  }
  await visit(dir, "");
  return out;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
