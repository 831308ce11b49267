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

  it("rejects a malformed item id before it reaches a key", async () => {
    await expect(queue().claim(newUserId(), "x#PENDING#y", "w", new Date())).rejects.toThrow("invalid");
  });
});
