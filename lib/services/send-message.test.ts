import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, conversationChannel, LIMITS, newId } from "../contracts";
import { AppError } from "../errors";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import { deriveId, sendMessage } from "./send-message";

let h: ServiceHarness;
beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

function setup() {
  const publisher = new RecordingPublisher();
  const launcher = new RecordingLauncher();
  const ports = { ...h.ports, publisher, launcher };
  const userId = randomUUID();
  /** The wake-ups published on the user's agent channel. */
  const wakes = () => publisher.on(agentChannel(userId)).filter((e) => e.type === "wake");
  return { ports, publisher, launcher, wakes, userId };
}

describe("sendMessage", () => {
  it("creates a conversation titled from the first message, stores, enqueues, publishes and wakes", async () => {
    const { ports, publisher, launcher, wakes, userId } = setup();
    const key = newId();
    const res = await sendMessage(ports, userId, {
      text: "  Plan a trip to Lisbon\nwith three days of museums",
      idempotencyKey: key,
    });
    expect(res.duplicate).toBe(false);
    expect(res.conversation?.title).toBe("Plan a trip to Lisbon");
    const conv = await ports.chatStore.getConversation(userId, res.conversationId);
    expect(conv?.title).toBe("Plan a trip to Lisbon");
    const msg = await ports.chatStore.getMessage(userId, res.conversationId, res.messageId);
    expect(msg).toMatchObject({
      role: "user",
      content: "Plan a trip to Lisbon\nwith three days of museums",
      status: "complete",
      source: "web",
    });
    const queued = await ports.queue.list(userId);
    expect(queued.map((i) => [i.messageId, i.conversationId])).toEqual([[res.messageId, res.conversationId]]);
    const events = publisher.on(conversationChannel(userId, res.conversationId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "message", message: { id: res.messageId } });
    // The runtime was asleep: it is launched and woken (once at once, once after the launch).
    expect(launcher.launches).toEqual([userId]);
    expect(wakes()).toEqual([
      { type: "wake", at: expect.any(String) },
      { type: "wake", at: expect.any(String) },
    ]);
    // The message id keeps the key's time prefix, so it sorts by when it was sent.
    expect(res.messageId.slice(0, 10)).toBe(key.slice(0, 10));
  });

  it("is idempotent by key: a double click stores, enqueues and announces once", async () => {
    const { ports, publisher, userId } = setup();
    const key = newId();
    const [a, b] = await Promise.all([
      sendMessage(ports, userId, { text: "hello", idempotencyKey: key }),
      sendMessage(ports, userId, { text: "hello", idempotencyKey: key }),
    ]);
    expect(a.conversationId).toBe(b.conversationId);
    expect(a.messageId).toBe(b.messageId);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    const retry = await sendMessage(ports, userId, { text: "hello", idempotencyKey: key });
    expect(retry).toMatchObject({ duplicate: true, messageId: a.messageId });
    expect((await ports.queue.list(userId)).length).toBe(1);
    const page = await ports.chatStore.listMessages(userId, a.conversationId);
    expect(page.items.length).toBe(1);
    const convs = await ports.chatStore.listConversations(userId);
    expect(convs.items.length).toBe(1);
    expect(publisher.on(conversationChannel(userId, a.conversationId)).length).toBe(1);
  });

  it("re-enqueues a recent duplicate that was stored but never queued (a request that failed halfway)", async () => {
    const { ports, userId } = setup();
    const key = newId();
    const first = await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    await ports.queue.remove(userId, first.messageId);
    const retry = await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    expect(retry.duplicate).toBe(true);
    expect((await ports.queue.list(userId)).map((i) => i.id)).toEqual([first.messageId]);
  });

  it("does not re-enqueue a duplicate that was already answered", async () => {
    const { ports, userId } = setup();
    const key = newId();
    const first = await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    await ports.queue.remove(userId, first.messageId);
    await ports.chatStore.putMessage(userId, {
      id: newId(),
      conversationId: first.conversationId,
      role: "assistant",
      content: "hello!",
      status: "complete",
      createdAt: new Date().toISOString(),
      replyTo: first.messageId,
    });
    await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    expect(await ports.queue.list(userId)).toEqual([]);
  });

  it("in an existing conversation: re-queues an unanswered duplicate, and not an answered one", async () => {
    const { ports, userId } = setup();
    const start = await sendMessage(ports, userId, { text: "start", idempotencyKey: newId() });
    await ports.queue.remove(userId, start.messageId);
    const send = (key: string) =>
      sendMessage(ports, userId, {
        conversationId: start.conversationId,
        text: "again",
        idempotencyKey: key,
      });

    // Stored, then the request failed before its item was queued: the retry queues it.
    const key = newId();
    const first = await send(key);
    await ports.queue.remove(userId, first.messageId);
    const retry = await send(key);
    expect(retry).toMatchObject({ duplicate: true, messageId: first.messageId });
    expect((await ports.queue.list(userId)).map((i) => i.id)).toEqual([first.messageId]);

    // Answered and done: a late retry leaves nothing in the queue.
    await ports.queue.remove(userId, first.messageId);
    await ports.chatStore.putMessage(userId, {
      id: newId(),
      conversationId: start.conversationId,
      role: "assistant",
      content: "done",
      status: "complete",
      createdAt: new Date().toISOString(),
      replyTo: first.messageId,
    });
    expect((await send(key)).duplicate).toBe(true);
    expect(await ports.queue.list(userId)).toEqual([]);
    const msgs = await ports.chatStore.listMessages(userId, start.conversationId);
    expect(msgs.items.map((m) => m.content)).toEqual(["start", "again", "done"]);
  });

  it("appends to an existing conversation and moves it to the top", async () => {
    const { ports, userId } = setup();
    const first = await sendMessage(ports, userId, { text: "one", idempotencyKey: newId() });
    const other = await sendMessage(ports, userId, { text: "two", idempotencyKey: newId() });
    const later = new Date(Date.now() + 1000);
    const third = await sendMessage(
      ports,
      userId,
      { conversationId: first.conversationId, text: "three", idempotencyKey: newId(later.getTime()) },
      { now: later },
    );
    expect(third.conversationId).toBe(first.conversationId);
    expect(third.conversation).toBeUndefined();
    const convs = await ports.chatStore.listConversations(userId);
    expect(convs.items.map((c) => c.id)).toEqual([first.conversationId, other.conversationId]);
    const msgs = await ports.chatStore.listMessages(userId, first.conversationId);
    expect(msgs.items.map((m) => m.content)).toEqual(["one", "three"]);
  });

  it("refuses someone else's conversation as not found, writing nothing", async () => {
    const owner = setup();
    const intruder = setup();
    const mine = await sendMessage(owner.ports, owner.userId, { text: "secret", idempotencyKey: newId() });
    const err = await sendMessage(intruder.ports, intruder.userId, {
      conversationId: mine.conversationId,
      text: "let me in",
      idempotencyKey: newId(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("not_found");
    expect(await intruder.ports.queue.list(intruder.userId)).toEqual([]);
    expect(intruder.wakes()).toEqual([]);
    expect(intruder.launcher.launches).toEqual([]);
    // The message written alongside the ownership check was removed again.
    const stray = await intruder.ports.chatStore.listMessages(intruder.userId, mine.conversationId);
    expect(stray.items).toEqual([]);
    const msgs = await owner.ports.chatStore.listMessages(owner.userId, mine.conversationId);
    expect(msgs.items.map((m) => m.content)).toEqual(["secret"]);
  });

  it("rejects an empty and an oversized message with clear errors, writing nothing", async () => {
    const { ports, userId, wakes } = setup();
    const empty = await sendMessage(ports, userId, { text: "  \n ", idempotencyKey: newId() }).catch(
      (e: unknown) => e,
    );
    expect(empty).toMatchObject({ code: "bad_request", message: "Message must not be empty" });
    const big = await sendMessage(ports, userId, {
      text: "x".repeat(LIMITS.messageChars + 1),
      idempotencyKey: newId(),
    }).catch((e: unknown) => e);
    expect(big).toMatchObject({ code: "payload_too_large" });
    expect((big as AppError).message).toContain(String(LIMITS.messageChars));
    expect((await ports.chatStore.listConversations(userId)).items).toEqual([]);
    expect(wakes()).toEqual([]);
  });

  it("queues a Telegram message with the chat to answer in", async () => {
    const { ports, userId } = setup();
    const res = await sendMessage(
      ports,
      userId,
      { text: "from my phone", idempotencyKey: newId() },
      { source: "telegram", telegramChatId: 4242 },
    );
    expect(await ports.queue.list(userId)).toMatchObject([
      { messageId: res.messageId, source: "telegram", telegramChatId: 4242 },
    ]);
    const msg = await ports.chatStore.getMessage(userId, res.conversationId, res.messageId);
    expect(msg?.source).toBe("telegram");
  });

  it("rejects a key from a clock a day off", async () => {
    const { ports, userId } = setup();
    const stale = newId(Date.now() - 2 * 24 * 3600 * 1000);
    await expect(sendMessage(ports, userId, { text: "hi", idempotencyKey: stale })).rejects.toMatchObject({
      code: "bad_request",
    });
  });

  it("derives different ids for different users and conversations from the same key", () => {
    const key = newId();
    const a = deriveId("message", "user-a", "c1", key);
    expect(deriveId("message", "user-a", "c1", key)).toBe(a);
    expect(deriveId("message", "user-b", "c1", key)).not.toBe(a);
    expect(deriveId("message", "user-a", "c2", key)).not.toBe(a);
    expect(a).toMatch(/^[a-z0-9]{26}$/);
  });

  it("refuses a deleted conversation, and removes what it wrote", async () => {
    const { ports, userId, wakes } = setup();
    const first = await sendMessage(ports, userId, { text: "one", idempotencyKey: newId() });
    await ports.queue.remove(userId, first.messageId);
    const before = wakes().length;
    await ports.chatStore.deleteConversation(userId, first.conversationId);
    await expect(
      sendMessage(ports, userId, {
        conversationId: first.conversationId,
        text: "two",
        idempotencyKey: newId(),
      }),
    ).rejects.toMatchObject({ code: "not_found" });
    expect(await ports.queue.list(userId)).toEqual([]);
    expect((await ports.chatStore.listMessages(userId, first.conversationId)).items).toEqual([]);
    expect(wakes()).toHaveLength(before);
  });

  it("fails when the runtime cannot be woken, with the message stored, queued and announced", async () => {
    const { ports, publisher, launcher, userId } = setup();
    launcher.fail = true;
    const key = newId();
    await expect(sendMessage(ports, userId, { text: "hello", idempotencyKey: key })).rejects.toMatchObject({
      code: "unavailable",
    });
    const [item] = await ports.queue.list(userId);
    expect(item?.text).toBe("hello");
    const events = publisher.on(conversationChannel(userId, item?.conversationId ?? ""));
    expect(events).toMatchObject([{ type: "message", message: { id: item?.messageId, content: "hello" } }]);
    // The client's retry (same key) is a duplicate that starts the runtime after all.
    launcher.fail = false;
    expect(await sendMessage(ports, userId, { text: "hello", idempotencyKey: key })).toMatchObject({
      duplicate: true,
    });
    expect(launcher.launches).toEqual([userId]);
  });

  it("still wakes the runtime on a duplicate (the first wake-up may have failed)", async () => {
    const { ports, userId, wakes } = setup();
    const key = newId();
    await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    const afterFirst = wakes().length;
    await sendMessage(ports, userId, { text: "hi", idempotencyKey: key });
    expect(wakes().length).toBeGreaterThan(afterFirst);
  });
});
