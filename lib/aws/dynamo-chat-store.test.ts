import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { newId } from "../contracts";
import { startTestDynamo } from "../testing/dynamo-test-server";
import { describeChatStoreContract } from "../testing/port-contracts/chat-store";
import { newUserId } from "../testing/port-contracts/helpers";
import { DynamoChatStore } from "./dynamo-chat-store";

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
