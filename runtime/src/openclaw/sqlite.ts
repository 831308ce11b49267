import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/*
 * OpenClaw keeps sessions and transcripts in SQLite with a write-ahead log. A copy of a
 * database file taken while the WAL holds unmerged pages misses the latest turns, so:
 * - after OpenClaw has stopped, checkpointSqliteFiles() folds every WAL into its database;
 * - while it runs, snapshotSqlite() writes a consistent copy with `VACUUM INTO`.
 */

const SQLITE_EXT = /\.(sqlite|sqlite3|db)$/;

async function findDatabases(dir: string, out: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== ".git") await findDatabases(p, out);
    } else if (e.isFile() && SQLITE_EXT.test(e.name)) {
      out.push(p);
    }
  }
}

/** SQLite databases under `dir` (recursively). */
export async function listSqliteFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  await findDatabases(dir, out);
  return out.sort();
}

/**
 * Merges each database's write-ahead log into the database file and empties it. Call only
 * when no other process has the databases open (after the engine stopped). Failures are
 * reported, not thrown: an unmerged WAL is still a valid database next to its WAL file.
 */
export async function checkpointSqliteFiles(dir: string, report?: (line: string) => void): Promise<void> {
  for (const path of await listSqliteFiles(dir)) {
    if (!existsSync(`${path}-wal`)) continue;
    try {
      const db = new DatabaseSync(path);
      try {
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    } catch (err) {
      report?.(`sqlite checkpoint failed for ${path}: ${(err as Error).message}`);
    }
  }
}

/** Writes a consistent copy of a (possibly live) database to `outPath`, replacing it. */
export async function snapshotSqlite(dbPath: string, outPath: string): Promise<void> {
  await mkdir(dirname(outPath), { recursive: true });
  await rm(outPath, { force: true });
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    db.prepare("VACUUM INTO ?").run(outPath);
  } finally {
    db.close();
  }
}
