import { beforeAll, describe, expect, it } from "vitest";
import type { TaskState } from "../../contracts";
import type { TaskStateStore } from "../../ports";
import { isoAt, newUserId } from "./helpers";

type Next = Omit<TaskState, "userId" | "version">;

const starting: Next = {
  status: "Starting",
  idleTimeoutMinutes: 15,
  startedAt: isoAt(0),
  stage: "launching",
};
const running: Next = {
  status: "Running",
  idleTimeoutMinutes: 15,
  taskRef: "local:1234",
  startedAt: isoAt(0),
  heartbeatAt: isoAt(1_000),
  lastActivityAt: isoAt(1_000),
};
const idle: Next = { status: "Idle", idleTimeoutMinutes: 15 };

/** The TaskStateStore contract: every implementation must pass it. */
export function describeTaskStateStoreContract(
  name: string,
  makeStore: () => TaskStateStore | Promise<TaskStateStore>,
): void {
  describe(`TaskStateStore contract: ${name}`, () => {
    let store: TaskStateStore;
    beforeAll(async () => {
      store = await makeStore();
    });

    it("returns an Idle row with version 0 for a new user", async () => {
      const user = newUserId();
      const state = await store.get(user);
      expect(state).toMatchObject({ userId: user, status: "Idle", version: 0 });
      expect(state.idleTimeoutMinutes).toBeGreaterThan(0);
    });

    it("moves through versions and replaces the whole row on each write", async () => {
      const user = newUserId();
      const s1 = await store.compareAndSet(user, 0, starting, ["Idle"]);
      expect(s1).toEqual({ ...starting, userId: user, version: 1 });
      expect(await store.get(user)).toEqual(s1);
      const s2 = await store.compareAndSet(user, 1, running, ["Starting"]);
      expect(s2).toEqual({ ...running, userId: user, version: 2 });
      const s3 = await store.compareAndSet(user, 2, idle);
      expect(s3).toEqual({ ...idle, userId: user, version: 3 });
      // Fields absent from `next` are gone, not carried over.
      expect(await store.get(user)).toEqual({ ...idle, userId: user, version: 3 });
    });

    it("refuses a stale version or an unexpected status", async () => {
      const user = newUserId();
      await store.compareAndSet(user, 0, starting);
      expect(await store.compareAndSet(user, 0, running)).toBeUndefined();
      expect(await store.compareAndSet(user, 5, running)).toBeUndefined();
      expect(await store.compareAndSet(user, 1, running, ["Idle", "Stopping"])).toBeUndefined();
      expect((await store.get(user)).status).toBe("Starting");
      // A missing row counts as Idle: a caller expecting only Running must not create it.
      const other = newUserId();
      expect(await store.compareAndSet(other, 0, starting, ["Running"])).toBeUndefined();
      expect((await store.get(other)).version).toBe(0);
    });

    it("lets exactly one of two racing writers win, on a new row and on an existing one", async () => {
      for (let round = 0; round < 10; round++) {
        const user = newUserId();
        const first = await Promise.all([
          store.compareAndSet(user, 0, { ...starting, taskRef: "a" }, ["Idle"]),
          store.compareAndSet(user, 0, { ...starting, taskRef: "b" }, ["Idle"]),
        ]);
        expect(first.filter(Boolean)).toHaveLength(1);
        const winner = first.find(Boolean) as TaskState;
        expect(await store.get(user)).toEqual(winner);

        const second = await Promise.all([
          store.compareAndSet(user, 1, { ...running, taskRef: "x" }, ["Starting"]),
          store.compareAndSet(user, 1, { ...idle }, ["Starting"]),
        ]);
        expect(second.filter(Boolean)).toHaveLength(1);
        expect((await store.get(user)).version).toBe(2);
      }
    });

    it("lists the rows that are not Idle for the watchdog", async () => {
      const a = newUserId();
      const b = newUserId();
      const c = newUserId();
      await store.compareAndSet(a, 0, starting);
      await store.compareAndSet(b, 0, starting);
      await store.compareAndSet(b, 1, running);
      await store.compareAndSet(c, 0, starting);
      await store.compareAndSet(c, 1, idle);
      const active = await store.listActive();
      const mine = active.filter((s) => [a, b, c].includes(s.userId));
      expect(mine.map((s) => [s.userId, s.status]).sort()).toEqual(
        [
          [a, "Starting"],
          [b, "Running"],
        ].sort(),
      );
      expect(active.every((s) => s.status !== "Idle")).toBe(true);
    });
  });
}
