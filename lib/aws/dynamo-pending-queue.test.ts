import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { newId, type PendingItem } from "../contracts";
import { startTestDynamo } from "../testing/dynamo-test-server";
import { newUserId } from "../testing/port-contracts/helpers";
import { describePendingQueueContract } from "../testing/port-contracts/pending-queue";
import { DEFAULT_PENDING_TTL_SECONDS, DynamoPendingQueue } from "./dynamo-pending-queue";

const dynamo = startTestDynamo();

describePendingQueueContract(
  "DynamoPendingQueue on dynalite",
  () => new DynamoPendingQueue({ client: dynamo.client, tableName: dynamo.tableName }),
);

function item(userId: string, enqueuedAt = new Date()): PendingItem {
  return {
    userId,
    id: newId(enqueuedAt.getTime()),
    conversationId: newId(),
    messageId: newId(),
    text: "hi",
    source: "web",
    enqueuedAt: enqueuedAt.toISOString(),
    attempts: 0,
  };
}

describe("DynamoPendingQueue specifics", () => {
  const queue = () => new DynamoPendingQueue({ client: dynamo.client, tableName: dynamo.tableName });

  it("ignores items whose TTL has passed, since dynalite and DynamoDB delete them late or never", async () => {
    const user = newUserId();
    const stale = item(user, new Date(Date.now() - (DEFAULT_PENDING_TTL_SECONDS + 60) * 1000));
    const fresh = item(user);
    await queue().enqueue(stale);
    await queue().enqueue(fresh);
    expect((await queue().list(user)).map((p) => p.id)).toEqual([fresh.id]);
    expect(await queue().claim(user, stale.id, "w", new Date(Date.now() + 60_000))).toBeUndefined();

    // The same items seen from a clock past the fresh one's TTL: nothing is left.
    const later = new DynamoPendingQueue({
      client: dynamo.client,
      tableName: dynamo.tableName,
      now: () => Date.now() + (DEFAULT_PENDING_TTL_SECONDS + 60) * 1000,
    });
    expect(await later.list(user)).toEqual([]);
    expect(await later.claim(user, fresh.id, "w", new Date(Date.now() + 60_000))).toBeUndefined();
  });

  it("stores the TTL attribute the table's TTL setting deletes by", async () => {
    const user = newUserId();
    const x = item(user);
    const raw = await dynamo.client.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: { pk: `USER#${user}`, sk: `PENDING#${x.id}`, ...x, ttl: Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    expect(raw.$metadata.httpStatusCode).toBe(200);
    expect(await queue().list(user)).toEqual([]);
  });

  it("gives back the attempt a released claim counted", async () => {
    const user = newUserId();
    const x = item(user);
    await queue().enqueue(x);
    await queue().claim(user, x.id, "w1", new Date(Date.now() + 60_000));
    await queue().release(user, x.id, "w1");
    expect((await queue().list(user))[0]?.attempts).toBe(0);
  });

  it("finds the users with work enqueued within a window, each once with its oldest item, until it leaves the queue", async () => {
    // A clock of its own, far from other tests' items, since the waiting partition is shared.
    const t0 = Date.parse("2031-03-01T10:00:00.000Z");
    const at = (minutes: number) => new Date(t0 + minutes * 60_000);
    const q = new DynamoPendingQueue({ client: dynamo.client, tableName: dynamo.tableName, now: () => t0 });
    const [a, b, c] = [newUserId(), newUserId(), newUserId()];
    const a1 = item(a, at(1));
    const a2 = item(a, at(3));
    const b1 = item(b, at(2));
    const tooOld = item(c, at(-30));
    const tooYoung = item(c, at(20));
    for (const x of [a2, b1, a1, tooOld, tooYoung]) await q.enqueue(x);
    const window = () => q.waitingUsers(at(0), at(10));
    expect(await window()).toEqual([
      { userId: a, enqueuedAt: a1.enqueuedAt },
      { userId: b, enqueuedAt: b1.enqueuedAt },
    ]);
    // A finished or removed item leaves the index with the queue.
    await q.claim(a, a1.id, "w", at(5));
    await q.complete(a, a1.id, "w");
    await q.remove(b, b1.id);
    expect(await window()).toEqual([{ userId: a, enqueuedAt: a2.enqueuedAt }]);
    // The items themselves never show the index's keys.
    expect(Object.keys((await q.list(a))[0] ?? {})).not.toContain("gsi1pk");
  });

  it("rejects a malformed item id before it reaches a key", async () => {
    await expect(queue().claim(newUserId(), "x#PENDING#y", "w", new Date())).rejects.toThrow("invalid");
  });
});
