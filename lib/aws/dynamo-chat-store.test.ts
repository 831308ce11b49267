import { describe, expect, it } from "vitest";
import { newId } from "../contracts";
import { describeChatStoreContract } from "../ports/contract/chat-store";
import { newUserId } from "../ports/contract/helpers";
import { DynamoChatStore } from "./dynamo-chat-store";
import { startTestDynamo } from "./dynamo-test-server";

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
});
