import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, newId } from "../contracts";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import {
  deleteConversation,
  getConversation,
  listConversations,
  listMessages,
  renameConversation,
  renameSchema,
  titleFromText,
} from "./conversations";
import { sendMessage } from "./send-message";

let h: ServiceHarness;
beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

function setup() {
  const publisher = new RecordingPublisher();
  const ports = { ...h.ports, publisher, launcher: new RecordingLauncher() };
  return { ports, publisher, userId: randomUUID() };
}

async function send(
  ports: ReturnType<typeof setup>["ports"],
  userId: string,
  text: string,
  conversationId?: string,
) {
  return sendMessage(ports, userId, { text, idempotencyKey: newId(), conversationId });
}

describe("titleFromText", () => {
  it.each([
    ["Hello there", "Hello there"],
    ["\n\n  # Heading line  \nbody", "Heading line"],
    ["   ", "New chat"],
    [
      "Explain how the TaskState lease guarantees one runtime per user across concurrent requests",
      "Explain how the TaskState lease guarantees one runtime per…",
    ],
  ])("%j -> %j", (text, title) => {
    expect(titleFromText(text)).toBe(title);
  });
});

describe("conversations", () => {
  it("lists newest first, with a cursor for the next page", async () => {
    const { ports, userId } = setup();
    const ids: string[] = [];
    for (const t of ["a", "b", "c"]) ids.push((await send(ports, userId, t)).conversationId);
    const page1 = await listConversations(ports, userId, { limit: 2 });
    expect(page1.items.map((c) => c.title)).toEqual(["c", "b"]);
    expect(page1.cursor).toBeTruthy();
    const page2 = await listConversations(ports, userId, { limit: 2, cursor: page1.cursor });
    expect(page2.items.map((c) => c.title)).toEqual(["a"]);
  });

  it("renames without moving the conversation, and someone else cannot rename it", async () => {
    const { ports, userId } = setup();
    const older = await send(ports, userId, "older");
    await send(ports, userId, "newer");
    const renamed = await renameConversation(ports, userId, older.conversationId, "Trip plans");
    expect(renamed.title).toBe("Trip plans");
    const list = await listConversations(ports, userId);
    expect(list.items.map((c) => c.title)).toEqual(["newer", "Trip plans"]);
    await expect(
      renameConversation(ports, randomUUID(), older.conversationId, "mine now"),
    ).rejects.toMatchObject({ code: "not_found" });
    expect((await getConversation(ports, userId, older.conversationId)).title).toBe("Trip plans");
  });

  it("validates titles: trimmed, collapsed, not empty, not too long", () => {
    expect(renameSchema.parse({ title: "  a \n b " }).title).toBe("a b");
    expect(renameSchema.safeParse({ title: "   " }).success).toBe(false);
    expect(renameSchema.safeParse({ title: "x".repeat(121) }).success).toBe(false);
  });

  it("deletes a conversation with its messages and its queued items, and aborts its run", async () => {
    const { ports, publisher, userId } = setup();
    const keep = await send(ports, userId, "keep");
    const gone = await send(ports, userId, "gone");
    await send(ports, userId, "gone too", gone.conversationId);
    // The runtime holds the first item of the doomed conversation.
    const claimed = await ports.queue.claim(
      userId,
      gone.messageId,
      "worker-1",
      new Date(Date.now() + 60_000),
    );
    expect(claimed).toBeDefined();

    await deleteConversation(ports, userId, gone.conversationId);

    await expect(getConversation(ports, userId, gone.conversationId)).rejects.toMatchObject({
      code: "not_found",
    });
    expect((await ports.chatStore.listMessages(userId, gone.conversationId)).items).toEqual([]);
    expect((await ports.queue.list(userId)).map((i) => i.conversationId)).toEqual([keep.conversationId]);
    expect(publisher.on(agentChannel(userId)).filter((e) => e.type !== "wake")).toMatchObject([
      { type: "abort", conversationId: gone.conversationId },
    ]);
    expect((await listConversations(ports, userId)).items.map((c) => c.id)).toEqual([keep.conversationId]);
  });

  it("does not let someone else delete a conversation", async () => {
    const { ports, userId } = setup();
    const mine = await send(ports, userId, "mine");
    await expect(deleteConversation(ports, randomUUID(), mine.conversationId)).rejects.toMatchObject({
      code: "not_found",
    });
    expect((await getConversation(ports, userId, mine.conversationId)).title).toBe("mine");
    expect((await ports.queue.list(userId)).length).toBe(1);
  });

  it("pages messages oldest first and catches up with `after`", async () => {
    const { ports, userId } = setup();
    const first = await send(ports, userId, "m1");
    const c = first.conversationId;
    const second = await send(ports, userId, "m2", c);
    await send(ports, userId, "m3", c);
    const all = await listMessages(ports, userId, c);
    expect(all.items.map((m) => m.content)).toEqual(["m1", "m2", "m3"]);
    const after = await listMessages(ports, userId, c, { after: second.messageId });
    expect(after.items.map((m) => m.content)).toEqual(["m3"]);
    const p1 = await listMessages(ports, userId, c, { limit: 2 });
    expect(p1.items.map((m) => m.content)).toEqual(["m1", "m2"]);
    const p2 = await listMessages(ports, userId, c, { limit: 2, cursor: p1.cursor });
    expect(p2.items.map((m) => m.content)).toEqual(["m3"]);
    await expect(listMessages(ports, randomUUID(), c)).rejects.toMatchObject({ code: "not_found" });
  });
});
