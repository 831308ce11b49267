import { beforeAll, describe, expect, it } from "vitest";
import { newId, type PendingItem } from "../../contracts";
import type { PendingQueue } from "../../ports";
import { newUserId } from "./helpers";

function item(userId: string, offsetMs = 0, text = "hello"): PendingItem {
  const now = Date.now() + offsetMs;
  return {
    userId,
    id: newId(now),
    conversationId: newId(now),
    messageId: newId(now),
    text,
    source: "web",
    enqueuedAt: new Date(now).toISOString(),
    attempts: 0,
  };
}

const inAMinute = () => new Date(Date.now() + 60_000);
const aSecondAgo = () => new Date(Date.now() - 1_000);

/** The PendingQueue contract: every implementation must pass it. */
export function describePendingQueueContract(
  name: string,
  makeQueue: () => PendingQueue | Promise<PendingQueue>,
): void {
  describe(`PendingQueue contract: ${name}`, () => {
    let queue: PendingQueue;
    beforeAll(async () => {
      queue = await makeQueue();
    });

    it("lists items oldest first and enqueues idempotently by id", async () => {
      const user = newUserId();
      const a = item(user, 0, "a");
      const b = item(user, 5, "b");
      const c = { ...item(user, 10, "c"), source: "telegram" as const, telegramChatId: 42 };
      const created: boolean[] = [];
      for (const x of [c, a, b, a]) created.push(await queue.enqueue(x));
      expect(created).toEqual([true, true, true, false]);
      expect(await queue.list(user)).toEqual([a, b, c]);
    });

    it("claims an item once until its lease expires, counting attempts", async () => {
      const user = newUserId();
      const x = item(user);
      await queue.enqueue(x);
      const lease = inAMinute();
      const claimed = await queue.claim(user, x.id, "w1", lease);
      expect(claimed).toEqual({ ...x, attempts: 1, claimedBy: "w1", leaseUntil: lease.toISOString() });
      expect(await queue.claim(user, x.id, "w2", inAMinute())).toBeUndefined();
      // A retried enqueue does not reset the claim.
      expect(await queue.enqueue(x)).toBe(false);
      expect((await queue.list(user))[0]).toEqual(claimed);

      // w1's lease runs out: w2 may take over, and w1 can no longer renew or complete it.
      expect(await queue.renew(user, x.id, "w1", aSecondAgo())).toBe(true);
      const taken = await queue.claim(user, x.id, "w2", inAMinute());
      expect(taken).toMatchObject({ claimedBy: "w2", attempts: 2 });
      expect(await queue.renew(user, x.id, "w1", inAMinute())).toBe(false);
      await queue.complete(user, x.id, "w1");
      expect(await queue.list(user)).toHaveLength(1);
      expect(await queue.renew(user, x.id, "w2", inAMinute())).toBe(true);
      await queue.complete(user, x.id, "w2");
      expect(await queue.list(user)).toEqual([]);
    });

    it("lets exactly one of two racing workers claim an item", async () => {
      const user = newUserId();
      for (let round = 0; round < 10; round++) {
        const x = item(user, round);
        await queue.enqueue(x);
        const results = await Promise.all([
          queue.claim(user, x.id, "worker-a", inAMinute()),
          queue.claim(user, x.id, "worker-b", inAMinute()),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.find(Boolean) as PendingItem;
        expect(winner.attempts).toBe(1);
        expect((await queue.list(user)).find((p) => p.id === x.id)?.claimedBy).toBe(winner.claimedBy);
      }
    });

    it("releases an item back unclaimed, only for the worker holding it", async () => {
      const user = newUserId();
      const x = item(user);
      await queue.enqueue(x);
      await queue.claim(user, x.id, "w1", inAMinute());
      await queue.release(user, x.id, "w2");
      expect((await queue.list(user))[0]?.claimedBy).toBe("w1");
      await queue.release(user, x.id, "w1");
      const [back] = await queue.list(user);
      expect(back?.claimedBy).toBeUndefined();
      expect(back?.leaseUntil).toBeUndefined();
      expect(await queue.claim(user, x.id, "w2", inAMinute())).toMatchObject({ claimedBy: "w2" });
    });

    it("removes an item regardless of its claim; unknown items cannot be claimed", async () => {
      const user = newUserId();
      const x = item(user);
      await queue.enqueue(x);
      await queue.claim(user, x.id, "w1", inAMinute());
      await queue.remove(user, x.id);
      expect(await queue.list(user)).toEqual([]);
      expect(await queue.claim(user, x.id, "w1", inAMinute())).toBeUndefined();
      expect(await queue.renew(user, x.id, "w1", inAMinute())).toBe(false);
      await queue.remove(user, x.id);
    });

    it("keeps each user's queue to that user", async () => {
      const alice = newUserId();
      const bob = newUserId();
      const x = item(alice);
      await queue.enqueue(x);
      expect(await queue.list(bob)).toEqual([]);
      expect(await queue.claim(bob, x.id, "w", inAMinute())).toBeUndefined();
      await queue.remove(bob, x.id);
      await queue.complete(bob, x.id, "w");
      expect(await queue.list(alice)).toEqual([x]);
    });
  });
}
