import { describe, expect, it } from "vitest";
import type { ChatEvent, Conversation, Message } from "@/lib/contracts";
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
      {
        type: "conversation.upsert",
        conversation: { id: C, title: "t", createdAt: at, updatedAt: at },
        asOf: 1,
      },
      { type: "history", conversationId: C, items: [user] },
      started,
      { type: "conversation.remove", conversationId: C, asOf: 2 },
    ]);
    expect(s.conversations).toEqual({});
    expect(s.runs).toEqual({});
    expect(conversationItems(s, C)).toEqual([]);
  });

  describe("retry of a failed reply", () => {
    const failed: Message = {
      ...reply,
      content: "",
      status: "error",
      error: { code: "provider_unavailable", message: "The provider failed" },
    };
    const retried: Message = { ...reply, createdAt: "2026-01-01T00:01:00.000Z" };
    const started2 = ev({ type: "run.started", at, runId: "r2", conversationId: C, replyTo: user.id });
    const retry: ChatAction = { type: "retry.start", conversationId: C, replyTo: user.id };

    it("drops the stored error at once, keeps it gone, and streams the new reply under the same message", () => {
      let s = run([{ type: "history", conversationId: C, items: [user, failed] }, retry]);
      expect(conversationItems(s, C)).toEqual([{ kind: "message", message: user }]);
      expect(isRunActive(s, C)).toBe(true);
      // A catch-up read before the server removed it brings the failed copy back: still gone.
      s = run([{ type: "history", conversationId: C, items: [failed] }], s);
      expect(conversationItems(s, C)).toEqual([{ kind: "message", message: user }]);
      s = run([started2, ev({ type: "delta", at, runId: "r2", conversationId: C, seq: 0, text: "Hel" })], s);
      expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "run"]);
      s = run([ev({ type: "final", at, runId: "r2", message: retried })], s);
      expect(conversationItems(s, C)).toEqual([
        { kind: "message", message: user },
        { kind: "message", message: retried },
      ]);
    });

    it("drops a live error, and a repeat of the old run's error does not bring it back", () => {
      const error = ev({
        type: "error",
        at,
        runId: "r1",
        conversationId: C,
        replyTo: user.id,
        code: "provider_unavailable",
        message: "The provider failed",
      });
      let s = run([{ type: "history", conversationId: C, items: [user] }, started, error, retry]);
      expect(conversationItems(s, C)).toEqual([{ kind: "message", message: user }]);
      s = run([error], s);
      expect(conversationItems(s, C)).toEqual([{ kind: "message", message: user }]);
    });

    it("in another tab, the retry's run replaces the stored error", () => {
      const s = run([{ type: "history", conversationId: C, items: [user, failed] }, started2]);
      expect(conversationItems(s, C).map((i) => i.kind)).toEqual(["message", "run"]);
    });

    it("a retry the server refused shows its reason under the message, with a retry", () => {
      const s = run([
        { type: "history", conversationId: C, items: [user, failed] },
        retry,
        { type: "retry.failed", conversationId: C, replyTo: user.id, error: "Cannot reach the server.", at },
      ]);
      expect(conversationItems(s, C)).toEqual([
        { kind: "message", message: user },
        {
          kind: "error",
          error: {
            conversationId: C,
            replyTo: user.id,
            code: "retry_failed",
            message: "Cannot reach the server.",
            at,
          },
        },
      ]);
    });
  });

  it("counts a wake-up's seconds from its start, whichever stage or poll names a later one", () => {
    const launched = "2026-01-01T00:00:00.000Z";
    const processStart = "2026-01-01T00:00:02.000Z";
    let s = run([ev({ type: "status", at: launched, state: "waking", stage: "launching", since: launched })]);
    s = run([ev({ type: "status", at, state: "waking", stage: "restoring", since: processStart })], s);
    expect(s.runtime).toEqual({ state: "waking", stage: "restoring", since: launched });
    s = run([{ type: "runtime", runtime: { state: "waking", stage: "warming", since: processStart } }], s);
    expect(s.runtime).toEqual({ state: "waking", stage: "warming", since: launched });
    // Joining late: the first source names the process start, a later poll the launch.
    s = run([ev({ type: "status", at, state: "waking", stage: "restoring", since: processStart })]);
    s = run([{ type: "runtime", runtime: { state: "waking", stage: "restoring", since: launched } }], s);
    expect(s.runtime.since).toBe(launched);
    // The next wake-up counts from its own start.
    const later = "2026-01-01T01:00:00.000Z";
    s = run(
      [
        ev({ type: "status", at, state: "asleep" }),
        ev({ type: "status", at: later, state: "waking", stage: "launching", since: later }),
      ],
      s,
    );
    expect(s.runtime.since).toBe(later);
  });

  describe("conversation copies read before a rename or delete answered", () => {
    const c: Conversation = { id: C, title: "Plan a trip", createdAt: at, updatedAt: at };
    const renamed: Conversation = { ...c, title: "Lisbon" };

    it("a list asked for before the rename answered does not undo it; a later list applies", () => {
      let s = run([{ type: "conversations", items: [c], replace: true, asOf: 1 }]);
      // Asked at 2 (a reconnect's catch-up), the rename answered at 3, the list's answer comes last.
      s = run(
        [
          { type: "conversation.upsert", conversation: renamed, asOf: 3 },
          { type: "conversations", items: [c], replace: true, asOf: 2 },
        ],
        s,
      );
      expect(s.conversations[C]?.title).toBe("Lisbon");
      s = run(
        [{ type: "conversations", items: [{ ...c, title: "From another tab" }], replace: true, asOf: 4 }],
        s,
      );
      expect(s.conversations[C]?.title).toBe("From another tab");
    });

    it("the created conversation a slow first send answers with does not undo a rename", () => {
      const s = run([
        { type: "conversations", items: [c], replace: true, asOf: 2 },
        { type: "conversation.upsert", conversation: renamed, asOf: 3 },
        // The POST was sent at 1 and answered last.
        { type: "conversation.upsert", conversation: c, asOf: 1 },
      ]);
      expect(s.conversations[C]?.title).toBe("Lisbon");
    });

    it("a stale list neither brings back a deleted conversation nor drops one created after it was asked for", () => {
      const other: Conversation = { ...c, id: "conv2", title: "Fresh" };
      const s = run([
        { type: "conversations", items: [c], replace: true, asOf: 1 },
        { type: "conversation.remove", conversationId: C, asOf: 3 },
        { type: "conversation.upsert", conversation: other, asOf: 4 },
        { type: "conversations", items: [c], replace: true, asOf: 2 },
      ]);
      expect(Object.keys(s.conversations)).toEqual(["conv2"]);
    });
  });

  describe("the first message of a new chat", () => {
    const N = "conv-new";
    const first: Message = {
      ...user,
      id: "01aaaaaaaa0000000000000009",
      conversationId: N,
      content: "Plan a trip",
    };
    const outgoing = { key: "k9", text: "Plan a trip", status: "sending" as const, createdAt: at };
    const accepted: ChatAction[] = [
      { type: "send.accepted", key: "k9", message: first },
      { type: "history", conversationId: N, items: [] },
    ];

    it("stays on the new-chat page from the send until the page has moved to its conversation", () => {
      let s = run([{ type: "send.start", message: outgoing }]);
      expect(conversationItems(s, undefined).map((i) => i.kind)).toEqual(["outgoing"]);
      s = run(accepted, s);
      // The POST answered; the navigation to /c/<id> is still under way.
      expect(conversationItems(s, undefined)).toEqual([{ kind: "message", message: first }]);
      expect(isRunActive(s, undefined)).toBe(true);
      expect(conversationItems(s, N)).toEqual([{ kind: "message", message: first }]);
      // Arrived (or the user started another new chat): the new-chat page is empty again.
      s = run([{ type: "navigated" }], s);
      expect(conversationItems(s, undefined)).toEqual([]);
      expect(conversationItems(s, N)).toEqual([{ kind: "message", message: first }]);
    });

    it("also when the message's event came before the POST's answer", () => {
      const s = run([
        { type: "send.start", message: outgoing },
        ev({ type: "message", at, message: first }),
        ...accepted,
      ]);
      expect(conversationItems(s, undefined)).toEqual([{ kind: "message", message: first }]);
    });
  });
});
