import { describe, expect, it } from "vitest";
import type { ChatEvent, Message } from "@/lib/contracts";
import {
  type ChatAction,
  type ChatState,
  chatReducer,
  conversationItems,
  initialChatState,
  isRunActive,
  lastMessageId,
} from "./chat-state";

const at = "2026-01-01T00:00:00.000Z";
const C = "conv1";
const user: Message = {
  id: "01aaaaaaaa0000000000000001",
  conversationId: C,
  role: "user",
  content: "hi",
  status: "complete",
  createdAt: at,
};
const reply: Message = {
  id: `${user.id}-a`,
  conversationId: C,
  role: "assistant",
  content: "Hello there",
  status: "complete",
  createdAt: at,
  replyTo: user.id,
};

function run(actions: ChatAction[], state: ChatState = initialChatState): ChatState {
  return actions.reduce(chatReducer, state);
}
const ev = (event: ChatEvent): ChatAction => ({ type: "event", event });
const started = ev({ type: "run.started", at, runId: "r1", conversationId: C, replyTo: user.id });
const delta = (seq: number, text: string) =>
  ev({ type: "delta", at, runId: "r1", conversationId: C, seq, text });

describe("chatReducer", () => {
  it("grows a reply from deltas and replaces it with the stored message on final", () => {
    let s = run([{ type: "history", conversationId: C, items: [user] }, started, delta(0, "Hel")]);
    expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "run"]);
    s = run([delta(1, "lo")], s);
    const streaming = conversationItems(s, C)[1];
    expect(streaming?.kind === "run" && streaming.run.text).toBe("Hello");
    expect(isRunActive(s, C)).toBe(true);
    s = run([ev({ type: "final", at, runId: "r1", message: reply })], s);
    expect(conversationItems(s, C)).toEqual([
      { kind: "message", message: user },
      { kind: "message", message: reply },
    ]);
    expect(isRunActive(s, C)).toBe(false);
  });

  it("ignores a repeated delta (at-least-once delivery)", () => {
    const s = run([
      { type: "history", conversationId: C, items: [user] },
      started,
      delta(0, "a"),
      delta(0, "a"),
    ]);
    expect(Object.values(s.runs)[0]?.text).toBe("a");
  });

  it("never shows a finished reply twice: catch-up after a missed final ends the stream", () => {
    let s = run([{ type: "history", conversationId: C, items: [user] }, started, delta(0, "Hel")]);
    // Reconnect: the final was missed, the history page brings the stored reply.
    s = run([{ type: "history", conversationId: C, items: [user, reply] }], s);
    expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "message"]);
    // A late final and late deltas change nothing.
    s = run([ev({ type: "final", at, runId: "r1", message: reply }), delta(1, "lo")], s);
    expect(conversationItems(s, C)).toHaveLength(2);
    expect(lastMessageId(s, C)).toBe(reply.id);
  });

  it("shows our message at once and once only, whether the event or the POST answer comes first", () => {
    const outgoing = { key: "k1", conversationId: C, text: "hi", status: "sending" as const, createdAt: at };
    const viaEvent = run([
      { type: "send.start", message: outgoing },
      ev({ type: "message", at, message: user }),
      { type: "send.accepted", key: "k1", message: user },
    ]);
    expect(conversationItems(viaEvent, C)).toEqual([{ kind: "message", message: user }]);
    const viaPost = run([
      { type: "send.start", message: outgoing },
      { type: "send.accepted", key: "k1", message: user },
      ev({ type: "message", at, message: user }),
    ]);
    expect(conversationItems(viaPost, C)).toEqual([{ kind: "message", message: user }]);
  });

  it("turns an error event into a retryable error under its message, cleared by a stored reply", () => {
    let s = run([
      { type: "history", conversationId: C, items: [user] },
      started,
      ev({
        type: "error",
        at,
        runId: "r1",
        code: "provider_unavailable",
        message: "The model provider is unavailable",
      }),
    ]);
    expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "error"]);
    expect(isRunActive(s, C)).toBe(false);
    s = run([{ type: "history", conversationId: C, items: [{ ...reply, status: "error" }] }], s);
    expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "message"]);
  });

  it("tracks tool activity by call id", () => {
    const tool = (status: "running" | "done") =>
      ev({ type: "tool", at, runId: "r1", tool: { toolCallId: "t1", name: "exec", status } });
    const s = run([
      { type: "history", conversationId: C, items: [user] },
      started,
      tool("running"),
      tool("done"),
    ]);
    expect(Object.values(s.runs)[0]?.tools).toEqual([{ toolCallId: "t1", name: "exec", status: "done" }]);
  });

  it("keeps the wake-up clock across status updates of the same start", () => {
    const since = "2026-01-01T00:00:05.000Z";
    let s = run([ev({ type: "status", at, state: "waking", stage: "restoring", since })]);
    s = run([{ type: "runtime", runtime: { state: "waking", stage: "starting_openclaw" } }], s);
    expect(s.runtime).toEqual({ state: "waking", stage: "starting_openclaw", since });
    s = run([ev({ type: "status", at, state: "ready" })], s);
    expect(s.runtime).toEqual({ state: "ready" });
  });

  it("removes a deleted conversation with everything in it", () => {
    const s = run([
      { type: "conversation.upsert", conversation: { id: C, title: "t", createdAt: at, updatedAt: at } },
      { type: "history", conversationId: C, items: [user] },
      started,
      { type: "conversation.remove", conversationId: C },
    ]);
    expect(s.conversations).toEqual({});
    expect(s.runs).toEqual({});
    expect(conversationItems(s, C)).toEqual([]);
  });
});
