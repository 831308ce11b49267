import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, type Message, newId, replyIdFor, statusChannel } from "../contracts";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import { retryRun } from "./retry-run";
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
  const launcher = new RecordingLauncher();
  const ports = { ...h.ports, publisher, launcher };
  return { ports, publisher, launcher, userId: randomUUID() };
}

type Ports = ReturnType<typeof setup>["ports"];

/** A sent message whose run failed the way the runtime's does: error reply stored, item completed. */
async function failedRun(ports: Ports, userId: string, status: Message["status"] = "error") {
  const sent = await sendMessage(ports, userId, {
    text: "Answer this flaky question",
    idempotencyKey: newId(),
  });
  await ports.queue.claim(userId, sent.messageId, "worker-1", new Date(Date.now() + 60_000));
  const reply: Message = {
    id: replyIdFor(sent.messageId),
    conversationId: sent.conversationId,
    role: "assistant",
    content: "",
    status,
    createdAt: new Date().toISOString(),
    replyTo: sent.messageId,
    ...(status === "error"
      ? { error: { code: "provider_unavailable", message: "The provider failed" } }
      : {}),
  };
  await ports.chatStore.putMessage(userId, reply);
  await ports.queue.complete(userId, sent.messageId, "worker-1");
  return { ...sent, reply };
}

describe("retryRun", () => {
  it("removes the failed reply and queues the same message again, once, under its own id", async () => {
    const { ports, publisher, userId } = setup();
    const { conversationId, messageId, reply } = await failedRun(ports, userId);
    const before = await ports.chatStore.getConversation(userId, conversationId);
    const wakesBefore = publisher.on(agentChannel(userId)).length;
    const now = new Date(Date.parse(before?.updatedAt ?? "") + 5_000);

    const res = await retryRun(ports, userId, conversationId, messageId, { now });

    expect(res).toEqual({ conversationId, messageId, queued: true });
    expect(await ports.chatStore.getMessage(userId, conversationId, reply.id)).toBeUndefined();
    const messages = (await ports.chatStore.listMessages(userId, conversationId)).items;
    expect(messages.map((m) => [m.id, m.role])).toEqual([[messageId, "user"]]);
    const queued = await ports.queue.list(userId);
    expect(queued).toEqual([
      expect.objectContaining({
        id: messageId,
        messageId,
        conversationId,
        text: "Answer this flaky question",
        source: "web",
        attempts: 0,
      }),
    ]);
    expect((await ports.chatStore.getConversation(userId, conversationId))?.updatedAt).toBe(
      now.toISOString(),
    );
    expect(publisher.on(agentChannel(userId)).length).toBeGreaterThan(wakesBefore);
  });

  it("is idempotent: a double click queues the message once", async () => {
    const { ports, userId } = setup();
    const { conversationId, messageId } = await failedRun(ports, userId);

    const both = await Promise.all([
      retryRun(ports, userId, conversationId, messageId),
      retryRun(ports, userId, conversationId, messageId),
    ]);
    const again = await retryRun(ports, userId, conversationId, messageId);

    expect(both.filter((r) => r.queued)).toHaveLength(1);
    expect(again.queued).toBe(false);
    expect((await ports.queue.list(userId)).map((i) => i.id)).toEqual([messageId]);
    const messages = (await ports.chatStore.listMessages(userId, conversationId)).items;
    expect(messages.filter((m) => m.role === "user")).toHaveLength(1);
  });

  it("queues a message whose failed reply is already gone (an earlier retry stopped half-way)", async () => {
    const { ports, userId } = setup();
    const { conversationId, messageId, reply } = await failedRun(ports, userId);
    await ports.chatStore.deleteMessage(userId, conversationId, reply.id);

    expect((await retryRun(ports, userId, conversationId, messageId)).queued).toBe(true);
    expect((await ports.queue.list(userId)).map((i) => i.id)).toEqual([messageId]);
  });

  it("refuses a message whose reply did not fail, and one still being finished, changing nothing", async () => {
    const { ports, userId } = setup();
    for (const status of ["complete", "aborted"] as const) {
      const { conversationId, messageId, reply } = await failedRun(ports, userId, status);
      await expect(retryRun(ports, userId, conversationId, messageId)).rejects.toMatchObject({
        code: "conflict",
        message: expect.stringMatching(/only a failed reply can be retried/),
      });
      expect(await ports.chatStore.getMessage(userId, conversationId, reply.id)).toEqual(reply);
    }
    expect(await ports.queue.list(userId)).toEqual([]);

    // The failed run stored its reply but still holds its item.
    const sent = await sendMessage(ports, userId, { text: "still running", idempotencyKey: newId() });
    const reply: Message = {
      id: replyIdFor(sent.messageId),
      conversationId: sent.conversationId,
      role: "assistant",
      content: "",
      status: "error",
      createdAt: new Date().toISOString(),
      replyTo: sent.messageId,
    };
    await ports.chatStore.putMessage(userId, reply);
    await expect(retryRun(ports, userId, sent.conversationId, sent.messageId)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await ports.chatStore.getMessage(userId, sent.conversationId, reply.id)).toEqual(reply);
  });

  it("is not found for someone else's conversation, an unknown message or a reply, and writes nothing", async () => {
    const { ports, publisher, launcher, userId } = setup();
    const { conversationId, messageId, reply } = await failedRun(ports, userId);
    const intruder = randomUUID();
    const published = publisher.published.length;

    for (const [who, conv, msg] of [
      [intruder, conversationId, messageId],
      [userId, conversationId, newId()],
      [userId, newId(), messageId],
      [userId, conversationId, reply.id],
    ] as const) {
      await expect(retryRun(ports, who, conv, msg)).rejects.toMatchObject({ code: "not_found" });
    }

    expect(await ports.chatStore.getMessage(userId, conversationId, reply.id)).toEqual(reply);
    expect(await ports.queue.list(userId)).toEqual([]);
    expect(await ports.queue.list(intruder)).toEqual([]);
    expect((await ports.taskStates.get(intruder)).version).toBe(0);
    expect(launcher.launches.filter((u) => u === intruder)).toEqual([]);
    expect(publisher.published.length).toBe(published);
    expect(publisher.on(statusChannel(intruder))).toEqual([]);
  });
});
