import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, conversationChannel, newId } from "../contracts";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import { sendMessage } from "./send-message";
import { stopRun } from "./stop-run";

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

describe("stopRun", () => {
  it("aborts the running turn and drops the conversation's waiting messages, leaving others", async () => {
    const { ports, publisher, userId } = setup();
    const a = await sendMessage(ports, userId, { text: "slow one", idempotencyKey: newId() });
    const c = a.conversationId;
    const b = await sendMessage(ports, userId, { conversationId: c, text: "next", idempotencyKey: newId() });
    const other = await sendMessage(ports, userId, { text: "elsewhere", idempotencyKey: newId() });
    await ports.queue.claim(userId, a.messageId, "worker", new Date(Date.now() + 60_000));

    const res = await stopRun(ports, userId, c);

    expect(res.dropped).toEqual([b.messageId]);
    expect(publisher.on(agentChannel(userId)).filter((e) => e.type !== "wake")).toMatchObject([
      { type: "abort", conversationId: c },
    ]);
    // The running item stays: the runtime completes it when the abort lands.
    expect((await ports.queue.list(userId)).map((i) => i.id).sort()).toEqual(
      [a.messageId, other.messageId].sort(),
    );
    const msgs = await ports.chatStore.listMessages(userId, c);
    const stopped = msgs.items.find((m) => m.replyTo === b.messageId);
    expect(stopped).toMatchObject({ role: "assistant", status: "aborted" });
    expect(publisher.on(conversationChannel(userId, c)).some((e) => e.type === "final")).toBe(true);
  });

  it("is not found for someone else's conversation and publishes nothing", async () => {
    const { ports, publisher, userId } = setup();
    const a = await sendMessage(ports, userId, { text: "mine", idempotencyKey: newId() });
    const intruder = randomUUID();
    await expect(stopRun(ports, intruder, a.conversationId)).rejects.toMatchObject({ code: "not_found" });
    expect(publisher.on(agentChannel(intruder))).toEqual([]);
    expect((await ports.queue.list(userId)).length).toBe(1);
  });
});
