import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { type Message, newId } from "../contracts";
import { FsBlobStore } from "../local/fs-blob-store";
import { startTestDynamo } from "../testing/dynamo-test-server";
import { describeChatStoreContract } from "../testing/port-contracts/chat-store";
import { newUserId } from "../testing/port-contracts/helpers";
import { DynamoChatStore, MISSING_BODY } from "./dynamo-chat-store";

const dynamo = startTestDynamo();

describeChatStoreContract(
  "DynamoChatStore on dynalite",
  () => new DynamoChatStore({ client: dynamo.client, tableName: dynamo.tableName }),
);

describe("DynamoChatStore specifics", () => {
  it("refuses to create a conversation whose id exists, with conflict", async () => {
    const store = new DynamoChatStore({ client: dynamo.client, tableName: dynamo.tableName });
    const user = newUserId();
    const now = new Date().toISOString();
    const c = { id: newId(), title: "t", createdAt: now, updatedAt: now };
    await store.createConversation(user, c);
    await expect(store.createConversation(user, { ...c, title: "again" })).rejects.toMatchObject({
      code: "conflict",
    });
    expect((await store.getConversation(user, c.id))?.title).toBe("t");
  });

  it("refuses a message over DynamoDB's item size with payload_too_large", async () => {
    const store = new DynamoChatStore({ client: dynamo.client, tableName: dynamo.tableName });
    const user = newUserId();
    const now = new Date().toISOString();
    const conversationId = newId();
    const huge = {
      id: newId(),
      conversationId,
      role: "assistant" as const,
      content: "x".repeat(410 * 1024),
      status: "complete" as const,
      createdAt: now,
    };
    await expect(store.putMessage(user, huge)).rejects.toMatchObject({ code: "payload_too_large" });
    expect((await store.listMessages(user, conversationId)).items).toEqual([]);
  });

  it("keeps the body of a message too large for a row in the blob store, and reads it back whole", async () => {
    const blobs = new FsBlobStore({ dir: mkdtempSync(join(tmpdir(), "chat-bodies-")) });
    const store = new DynamoChatStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      blobs: () => blobs,
    });
    const user = newUserId();
    const now = new Date().toISOString();
    const c = { id: newId(), title: "big", createdAt: now, updatedAt: now };
    await store.createConversation(user, c);
    const huge: Message = {
      id: newId(),
      conversationId: c.id,
      role: "assistant",
      content: "é".repeat(150_000),
      status: "complete",
      createdAt: now,
      replyTo: newId(),
      tools: Array.from({ length: 260 }, (_, i) => ({
        toolCallId: `call-${i}`,
        name: "read",
        status: "done" as const,
        summary: "s".repeat(2_000),
      })),
    };
    expect(await store.putMessage(user, huge)).toBe(true);
    expect(await store.getMessage(user, c.id, huge.id)).toEqual(huge);
    expect((await store.listMessages(user, c.id)).items).toEqual([huge]);
    expect((await store.getConversationAndMessage(user, c.id, huge.id)).message).toEqual(huge);
    const bodies = await blobs.list(`users/${user}/messages/${c.id}/`);
    expect(bodies).toHaveLength(1);

    // Put-once still holds, and the losing put leaves no second body behind.
    expect(await store.putMessage(user, { ...huge, content: "ü".repeat(150_000) })).toBe(false);
    expect((await store.getMessage(user, c.id, huge.id))?.content).toBe(huge.content);
    expect(await blobs.list(`users/${user}/messages/${c.id}/`)).toEqual(bodies);

    // A lost body degrades to a note, not to an unreadable conversation.
    const row = await dynamo.client.send(
      new GetCommand({
        TableName: dynamo.tableName,
        Key: { pk: `USER#${user}#CONV#${c.id}`, sk: `MSG#${huge.id}` },
      }),
    );
    expect(row.Item?.content).toBe("");
    await blobs.delete(String(row.Item?.bodyKey));
    expect((await store.getMessage(user, c.id, huge.id))?.content).toBe(MISSING_BODY);
    await blobs.put(String(row.Item?.bodyKey), new TextEncoder().encode(JSON.stringify({ content: "x" })));

    // Deleting the conversation deletes the body too.
    await store.deleteConversation(user, c.id);
    expect(await blobs.list(`users/${user}/`)).toEqual([]);
    expect((await store.listMessages(user, c.id)).items).toEqual([]);
  });

  it("refuses updates once a delete has begun, and deletes a message stored before that", async () => {
    const store = new DynamoChatStore({ client: dynamo.client, tableName: dynamo.tableName });
    const user = newUserId();
    const now = new Date().toISOString();
    const c = { id: newId(), title: "going", createdAt: now, updatedAt: now };
    await store.createConversation(user, c);
    const message = {
      id: newId(),
      conversationId: c.id,
      role: "user" as const,
      content: "hello",
      status: "complete" as const,
      createdAt: now,
    };
    await store.putMessage(user, message);

    // The delete pauses where it is about to look for the conversation's messages.
    let reachQuery!: () => void;
    const atQuery = new Promise<void>((r) => {
      reachQuery = r;
    });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const client = dynamo.client;
    const paused = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== "send") return Reflect.get(target, prop, receiver);
        return async (command: Parameters<DynamoDBDocumentClient["send"]>[0]) => {
          if (command instanceof QueryCommand) {
            reachQuery();
            await released;
          }
          return target.send(command);
        };
      },
    });
    const deleting = new DynamoChatStore({ client: paused, tableName: dynamo.tableName }).deleteConversation(
      user,
      c.id,
    );
    await atQuery;

    await expect(
      store.updateConversation(user, c.id, { updatedAt: new Date().toISOString() }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(store.updateConversation(user, c.id, { title: "renamed" })).rejects.toMatchObject({
      code: "not_found",
    });
    // Still listed until the delete has finished, so an interrupted delete can be repeated.
    expect((await store.getConversation(user, c.id))?.title).toBe("going");

    release();
    await deleting;
    expect(await store.getConversation(user, c.id)).toBeUndefined();
    expect((await store.listMessages(user, c.id)).items).toEqual([]);
  });
});
