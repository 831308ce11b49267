import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../../lib/local/fs-blob-store";
import { createLogger } from "./log";
import { decodeKeyToPath, encodePathForKey, StateSync, stateBlobPrefix } from "./state-sync";

let dir: string;
let blobs: FsBlobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "state-sync-"));
  blobs = new FsBlobStore({ dir: join(dir, "blobs") });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sync(name: string, secrets: string[] = [], stateDir = join(dir, name, "state")): StateSync {
  return new StateSync({
    blobs,
    prefix: stateBlobPrefix(name),
    dir: stateDir,
    scratchDir: join(dir, name, "scratch"),
    log: createLogger("error"),
    secrets: () => secrets,
  });
}

describe("key encoding", () => {
  it.each([
    "workspace/AGENTS.md",
    ".openclaw/x",
    "my notes/été 2026.md",
    "a_b/_c",
    "skills/.hidden/SKILL.md",
    "emoji 🦞.txt",
  ])("round-trips %s into a valid blob key", (path) => {
    const key = encodePathForKey(path);
    expect(key).toMatch(/^([A-Za-z0-9_-][A-Za-z0-9._-]*)(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/);
    expect(decodeKeyToPath(key)).toBe(path);
  });
});

describe("StateSync", () => {
  it("snapshots a live WAL database consistently, uploads only changes, and restores everything", async () => {
    const a = sync("u1");
    await a.prepareDir();
    await a.restore();
    const state = join(dir, "u1", "state");
    await mkdir(join(state, "agents", "main", "agent"), { recursive: true });
    await mkdir(join(state, "workspace", "skills", "hello"), { recursive: true });
    await writeFile(join(state, "workspace", "skills", "hello", "SKILL.md"), "---\nname: hello\n---\n");
    await writeFile(join(state, "workspace", ".gitignore"), "node_modules\n");
    await mkdir(join(state, "logs"), { recursive: true });
    await writeFile(join(state, "logs", "gateway.log"), "noise");

    // A database in WAL mode with committed rows still in the WAL, held open like OpenClaw does.
    const dbPath = join(state, "agents", "main", "agent", "openclaw-agent.sqlite");
    const live = new DatabaseSync(dbPath);
    live.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(v TEXT);");
    const insert = live.prepare("INSERT INTO t VALUES (?)");
    for (let i = 0; i < 200; i++) insert.run(`row ${i}`);

    const first = await a.sync();
    expect(first).toMatchObject({ uploaded: 3, deleted: 0 });
    const keys = (await blobs.list(stateBlobPrefix("u1"))).map((b) => b.key).sort();
    expect(keys).toEqual([
      "users/u1/openclaw/agents/main/agent/openclaw-agent.sqlite",
      "users/u1/openclaw/workspace/_2egitignore",
      "users/u1/openclaw/workspace/skills/hello/SKILL.md",
    ]);

    // Nothing changed: nothing uploaded.
    expect(await a.sync()).toMatchObject({ uploaded: 0, unchanged: 3 });

    // A change to the database and a deleted file.
    insert.run("row 200");
    await rm(join(state, "workspace", ".gitignore"));
    expect(await a.sync()).toMatchObject({ uploaded: 1, deleted: 1, unchanged: 1 });
    live.close();

    // A fresh machine restores what was synced, and the database has every committed row.
    const b = sync("u1", [], join(dir, "u1-restored"));
    await b.prepareDir();
    const restored = await b.restore();
    expect(restored.files).toBe(2);
    const db = new DatabaseSync(
      join(dir, "u1-restored", "agents", "main", "agent", "openclaw-agent.sqlite"),
      {
        readOnly: true,
      },
    );
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 201 });
    db.close();
    expect(
      await readFile(join(dir, "u1-restored", "workspace", "skills", "hello", "SKILL.md"), "utf8"),
    ).toContain("name: hello");
  });

  it("never uploads a file that contains a secret", async () => {
    const s = sync("u2", ["sk-live-0123456789"]);
    await s.prepareDir();
    await s.restore();
    const state = join(dir, "u2", "state");
    await mkdir(join(state, "agents"), { recursive: true });
    await writeFile(join(state, "agents", "auth.json"), JSON.stringify({ apiKey: "sk-live-0123456789" }));
    // The config file is rewritten from settings on every start: never uploaded at all.
    await writeFile(join(state, "openclaw.json"), JSON.stringify({ apiKey: "sk-live-0123456789" }));
    await writeFile(join(state, "notes.md"), "fine");
    const r = await s.sync();
    expect(r).toMatchObject({ uploaded: 1, skipped: 1 });
    expect((await blobs.list(stateBlobPrefix("u2"))).map((b) => b.key)).toEqual([
      "users/u2/openclaw/notes.md",
    ]);
  });

  it("refuses to sync before a restore (it would delete the durable copy)", async () => {
    const s = sync("u3");
    await s.prepareDir();
    await expect(s.sync()).rejects.toThrow(/never restored/);
  });
});
