import { beforeAll, describe, expect, it } from "vitest";
import { type Conversation, type Message, newId } from "../../contracts";
import { AppError } from "../../errors";
import type { ChatStore } from "../../ports";
import { isoAt, newUserId } from "./helpers";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function conversation(offsetMs = 0, title = "A conversation"): Conversation {
  return { id: newId(T0 + offsetMs), title, createdAt: isoAt(offsetMs), updatedAt: isoAt(offsetMs) };
}

function message(conversationId: string, i: number, content = `message ${i}`): Message {
  return {
    id: newId(T0 + 1_000 + i),
    conversationId,
    role: i % 2 === 0 ? "user" : "assistant",
    content,
    status: "complete",
    createdAt: isoAt(1_000 + i),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

async function allConversations(store: ChatStore, userId: string, limit: number): Promise<Conversation[][]> {
  const pages: Conversation[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listConversations(userId, { limit, cursor });
    pages.push(page.items);
    cursor = page.cursor;
  } while (cursor && pages.length < 50);
  return pages;
}

/** The ChatStore contract: every implementation must pass it. */
export function describeChatStoreContract(
  name: string,
  makeStore: () => ChatStore | Promise<ChatStore>,
): void {
  describe(`ChatStore contract: ${name}`, () => {
    let store: ChatStore;
    beforeAll(async () => {
      store = await makeStore();
    });

    it("creates and reads back a conversation; unknown ids are undefined", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      expect(await store.getConversation(user, c.id)).toEqual(c);
      expect(await store.getConversation(user, newId())).toBeUndefined();
    });

    it("lists conversations newest first by updatedAt, and a touch moves one to the top", async () => {
      const user = newUserId();
      const a = conversation(1, "a");
      const b = conversation(2, "b");
      const c = conversation(3, "c");
      for (const x of [b, a, c]) await store.createConversation(user, x);
      expect((await store.listConversations(user)).items.map((x) => x.title)).toEqual(["c", "b", "a"]);

      const touched = await store.updateConversation(user, a.id, { updatedAt: isoAt(10) });
      expect(touched).toEqual({ ...a, updatedAt: isoAt(10) });
      const page = await store.listConversations(user);
      expect(page.items.map((x) => x.title)).toEqual(["a", "c", "b"]);
      expect(page.cursor).toBeUndefined();
    });

    it("pages through conversations with a cursor, without gaps or repeats", async () => {
      const user = newUserId();
      const created: Conversation[] = [];
      for (let i = 0; i < 5; i++) {
        const c = conversation(i, `c${i}`);
        created.push(c);
        await store.createConversation(user, c);
      }
      const pages = await allConversations(store, user, 2);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat().map((c) => c.id)).toEqual(created.map((c) => c.id).reverse());
    });

    it("renames a conversation and rejects an update of an unknown one with not_found", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      expect(await store.updateConversation(user, c.id, { title: "Renamed" })).toEqual({
        ...c,
        title: "Renamed",
      });
      expect((await store.getConversation(user, c.id))?.title).toBe("Renamed");
      await rejectsWith(store.updateConversation(user, newId(), { title: "x" }), "not_found");
    });

    it("moves a conversation up, and refuses an unknown, someone else's or a deleted one", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      expect(await store.updateConversation(user, c.id, { updatedAt: isoAt(80) })).toEqual({
        ...c,
        updatedAt: isoAt(80),
      });
      const [first] = (await store.listConversations(user)).items;
      expect(first).toEqual({ ...c, updatedAt: isoAt(80) });
      await rejectsWith(store.updateConversation(user, newId(), { updatedAt: isoAt(1) }), "not_found");
      await rejectsWith(store.updateConversation(newUserId(), c.id, { updatedAt: isoAt(1) }), "not_found");
      await rejectsWith(store.updateConversation(user, c.id, { updatedAt: "yesterday" }), "bad_request");
      await store.deleteConversation(user, c.id);
      await rejectsWith(store.updateConversation(user, c.id, { updatedAt: isoAt(2) }), "not_found");
      expect(await store.getConversation(user, c.id)).toBeUndefined();
    });

    it("stores a message once: a second put of the same id returns false and changes nothing", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      const m = message(c.id, 1, "first");
      expect(await store.putMessage(user, m)).toBe(true);
      expect(await store.putMessage(user, { ...m, content: "retried" })).toBe(false);
      expect(await store.getMessage(user, c.id, m.id)).toEqual(m);
      expect((await store.listMessages(user, c.id)).items).toEqual([m]);
    });

    it("deletes one message, idempotently, and never another user's", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      const kept = message(c.id, 0, "kept");
      const failed = message(c.id, 1, "failed");
      await store.putMessage(user, kept);
      await store.putMessage(user, failed);
      await store.deleteMessage(newUserId(), c.id, failed.id);
      expect(await store.getMessage(user, c.id, failed.id)).toEqual(failed);

      await store.deleteMessage(user, c.id, failed.id);
      await store.deleteMessage(user, c.id, failed.id);
      expect((await store.listMessages(user, c.id)).items).toEqual([kept]);
      // The id can be stored again: a retried run's reply.
      expect(await store.putMessage(user, { ...failed, content: "answered" })).toBe(true);
      await rejectsWith(store.deleteMessage(user, c.id, "NOT AN ID"), "bad_request");
    });

    it("reads a conversation and one of its messages in one call; what is missing is left out", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      const asked = message(c.id, 0, "asked");
      const answer = message(c.id, 1, "answered");
      await store.putMessage(user, asked);
      await store.putMessage(user, answer);
      expect(await store.getConversationAndMessage(user, c.id, answer.id)).toEqual({
        conversation: c,
        message: answer,
      });
      expect(await store.getConversationAndMessage(user, c.id, newId())).toEqual({ conversation: c });
      expect(await store.getConversationAndMessage(user, newId(), asked.id)).toEqual({});
      // Someone else asking for the same ids gets nothing.
      expect(await store.getConversationAndMessage(newUserId(), c.id, asked.id)).toEqual({});
    });

    it("lists messages oldest first, newest first, after an id, and in pages", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      const msgs = Array.from({ length: 7 }, (_, i) => message(c.id, i));
      // Stored out of order: the listing must sort by id, not by write order.
      for (const m of [...msgs].reverse()) await store.putMessage(user, m);

      expect((await store.listMessages(user, c.id)).items.map((m) => m.id)).toEqual(msgs.map((m) => m.id));
      expect((await store.listMessages(user, c.id, { newestFirst: true })).items.map((m) => m.id)).toEqual(
        msgs.map((m) => m.id).reverse(),
      );
      const after = await store.listMessages(user, c.id, { after: msgs[3]?.id });
      expect(after.items.map((m) => m.id)).toEqual(msgs.slice(4).map((m) => m.id));

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listMessages(user, c.id, { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((m) => m.id));
        cursor = page.cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(msgs.map((m) => m.id));

      const first = await store.listMessages(user, c.id, { after: msgs[1]?.id, limit: 2 });
      expect(first.items.map((m) => m.id)).toEqual([msgs[2]?.id, msgs[3]?.id]);
      const second = await store.listMessages(user, c.id, {
        after: msgs[1]?.id,
        limit: 2,
        cursor: first.cursor,
      });
      expect(second.items.map((m) => m.id)).toEqual([msgs[4]?.id, msgs[5]?.id]);
    });

    it("deletes a conversation with all its messages, idempotently", async () => {
      const user = newUserId();
      const c = conversation();
      const other = conversation(1);
      await store.createConversation(user, c);
      await store.createConversation(user, other);
      // More than one BatchWriteItem's worth (25).
      for (let i = 0; i < 30; i++) await store.putMessage(user, message(c.id, i));
      await store.putMessage(user, message(other.id, 0));

      await store.deleteConversation(user, c.id);
      expect(await store.getConversation(user, c.id)).toBeUndefined();
      expect((await store.listMessages(user, c.id)).items).toEqual([]);
      expect((await store.listConversations(user)).items.map((x) => x.id)).toEqual([other.id]);
      expect((await store.listMessages(user, other.id)).items).toHaveLength(1);
      await store.deleteConversation(user, c.id);
      await store.deleteConversation(user, newId());
    });

    it("never lets one user read, rename, delete or list another user's conversation", async () => {
      const alice = newUserId();
      const bob = newUserId();
      const c = conversation(0, "alice's");
      await store.createConversation(alice, c);
      const m = message(c.id, 0, "secret");
      await store.putMessage(alice, m);

      expect(await store.getConversation(bob, c.id)).toBeUndefined();
      expect(await store.getMessage(bob, c.id, m.id)).toBeUndefined();
      expect((await store.listConversations(bob)).items).toEqual([]);
      expect((await store.listMessages(bob, c.id)).items).toEqual([]);
      expect((await store.listMessages(bob, c.id, { after: newId(0) })).items).toEqual([]);
      await rejectsWith(store.updateConversation(bob, c.id, { title: "pwned" }), "not_found");
      await store.deleteConversation(bob, c.id);
      // Bob writing "into" Alice's conversation id lands in his own space only.
      await store.putMessage(bob, message(c.id, 5, "injected"));

      expect(await store.getConversation(alice, c.id)).toEqual(c);
      expect((await store.listMessages(alice, c.id)).items).toEqual([m]);
    });

    it("keeps a cursor from one user's listing inside the caller's own data", async () => {
      const alice = newUserId();
      const bob = newUserId();
      for (let i = 0; i < 3; i++) await store.createConversation(alice, conversation(i, `alice-${i}`));
      const bobs = conversation(0, "bob-0");
      await store.createConversation(bob, bobs);
      const alicePage = await store.listConversations(alice, { limit: 1 });
      expect(alicePage.cursor).toBeDefined();
      const bobWithAliceCursor = await store.listConversations(bob, { limit: 10, cursor: alicePage.cursor });
      expect(bobWithAliceCursor.items.map((x) => x.title)).toEqual(["bob-0"]);

      const aliceConv = alicePage.items[0] as Conversation;
      for (let i = 0; i < 3; i++) await store.putMessage(alice, message(aliceConv.id, i));
      const msgPage = await store.listMessages(alice, aliceConv.id, { limit: 1 });
      expect(msgPage.cursor).toBeDefined();
      expect((await store.listMessages(bob, aliceConv.id, { cursor: msgPage.cursor })).items).toEqual([]);
    });

    it("rejects forged or malformed cursors and ids with bad_request", async () => {
      const user = newUserId();
      const c = conversation();
      await store.createConversation(user, c);
      const forged = Buffer.from(
        JSON.stringify({ v: 1, pk: "USER#someone-else", sk: "CONV#x", id: c.id, updatedAt: c.updatedAt }),
      ).toString("base64url");
      await rejectsWith(store.listConversations(user, { cursor: forged }), "bad_request");
      await rejectsWith(store.listConversations(user, { cursor: "not a cursor" }), "bad_request");
      await rejectsWith(store.listMessages(user, c.id, { cursor: "%%%" }), "bad_request");
      await rejectsWith(store.getConversation(user, "x#CONV#y"), "bad_request");
      await rejectsWith(store.getConversation("a#b", c.id), "bad_request");
      await rejectsWith(store.listMessages(user, c.id, { after: "MSG#zzz" }), "bad_request");
    });
  });
}
