import { describe, expect, it } from "vitest";
import { judge, type LiveFinal, type SentMessage, type StoredMessage } from "./load-tally";

const sent: SentMessage = { messageId: "m1", conversationId: "c1", marker: "mk-1", sentAt: 1_000 };
const user: StoredMessage = { id: "m1", role: "user", content: "hello mk-1", status: "complete" };
const reply: StoredMessage = {
  id: "m1-a",
  role: "assistant",
  content: "Echo: hello mk-1",
  status: "complete",
  replyTo: "m1",
};
const final = (over: Partial<LiveFinal> = {}): LiveFinal => ({
  replyId: "m1-a",
  status: "complete",
  content: "Echo: hello mk-1",
  at: 3_500,
  ...over,
});

describe("judge", () => {
  it("delivered: one final, the same reply stored once; latency from the POST", () => {
    expect(judge(sent, [final()], 0, [user, reply])).toEqual({
      outcome: "delivered",
      latencyMs: 2_500,
      repeatedFinals: 0,
    });
  });

  it("the same final twice on the wire is still one reply, and is counted", () => {
    const v = judge(sent, [final(), final({ at: 4_000 })], 0, [user, reply]);
    expect(v).toMatchObject({ outcome: "delivered", latencyMs: 2_500, repeatedFinals: 1 });
  });

  it("duplicated: the user message twice, two stored replies, two different finals", () => {
    const copy = { ...user, id: "m1-copy" };
    expect(judge(sent, [final()], 0, [user, copy, reply]).outcome).toBe("duplicated");
    const second = { ...reply, id: "m1-b" };
    expect(judge(sent, [final()], 0, [user, reply, second]).outcome).toBe("duplicated");
    expect(judge(sent, [final(), final({ content: "Echo: again mk-1" })], 0, [user, reply]).outcome).toBe(
      "duplicated",
    );
    expect(judge(sent, [final({ content: "other mk-1" })], 0, [user, reply]).outcome).toBe("duplicated");
  });

  it("lost: no final by the deadline, a final not stored, a reply never announced", () => {
    expect(judge(sent, [], 0, [user])).toMatchObject({ outcome: "lost", reason: "no final by the deadline" });
    expect(judge(sent, [final()], 0, [user]).outcome).toBe("lost");
    expect(judge(sent, [], 0, [user, reply]).outcome).toBe("lost");
    expect(judge(sent, [final()], 0, [reply]).outcome).toBe("lost");
  });

  it("failed: an error reply, another message's answer, an error event", () => {
    const failedReply = { ...reply, status: "error", content: "" };
    expect(judge(sent, [final({ status: "error", content: "" })], 0, [user, failedReply]).outcome).toBe(
      "failed",
    );
    const wrong = { ...reply, content: "Echo: mk-2" };
    expect(judge(sent, [final({ content: "Echo: mk-2" })], 0, [user, wrong]).outcome).toBe("failed");
    expect(judge(sent, [final()], 1, [user, reply]).outcome).toBe("failed");
    expect(judge(sent, [], 1, [user]).outcome).toBe("failed");
  });
});
