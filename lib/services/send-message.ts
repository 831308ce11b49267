import { createHash } from "node:crypto";
import { z } from "zod";
import {
  type Conversation,
  conversationChannel,
  idSchema,
  LIMITS,
  type Message,
  nowIso,
  type PendingItem,
  type WakeItem,
} from "../contracts";
import { AppError, isAppError } from "../errors";
import { titleFromText } from "./conversations";
import type { ServicePorts } from "./deps";

/*
 * Sending a message: validate, authorize, store, enqueue, wake the runtime, answer with ids.
 * The route handler never waits for the agent (DESIGN.md §3).
 *
 * Idempotency: the client makes one key per message it sends (a time-sortable id made
 * with `newId()`, from a clock corrected by the server's `Date` header) and reuses it on
 * every retry. The message id is derived from the key: the key's time prefix keeps
 * messages ordered by when they were sent, and a hash of user, conversation and key
 * makes the rest. The same key therefore always names the same message, and the store's
 * put-once rule turns a double click or a retry into a no-op.
 */

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const KEY_PATTERN = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** How far an idempotency key's clock may be from the server's. */
const KEY_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const KEY_MAX_AHEAD_MS = 10 * 60 * 1000;

/**
 * A duplicate that came back this soon may be the retry of a request that stored the
 * message but failed before enqueueing it, so it is re-enqueued if nothing answered it yet.
 */
const REENQUEUE_WINDOW_MS = 5 * 60 * 1000;

export const sendMessageSchema = z.object({
  /** Absent for the first message of a new conversation. */
  conversationId: idSchema.optional(),
  /** Length is checked by the service, so that a long message gets 413 and a clear limit. */
  text: z.string(),
  idempotencyKey: z.string().regex(KEY_PATTERN, "idempotencyKey must be a 26-character id made by newId()"),
});
export type SendMessageInput = z.infer<typeof sendMessageSchema>;

export interface SendMessageResult {
  conversationId: string;
  messageId: string;
  /** True when this key was seen before: nothing new was stored or sent. */
  duplicate: boolean;
  /** Set when this message started a new conversation. */
  conversation?: Conversation;
}

function keyTime(key: string): number {
  let t = 0;
  for (const ch of key.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}

/** `<key's 10 time characters><16 characters of sha256(kind, user, scope, key)>`. */
export function deriveId(
  kind: "conversation" | "message",
  userId: string,
  scope: string,
  key: string,
): string {
  const digest = createHash("sha256").update(`${kind}\0${userId}\0${scope}\0${key}`).digest();
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[(digest[i] as number) % 32];
  return key.slice(0, 10) + rand;
}

/** How long the copy of a message for other tabs waits for the wake-up to go out first. */
const ANNOUNCE_AFTER_MS = 20;

export async function sendMessage(
  ports: Pick<ServicePorts, "chatStore" | "queue" | "publisher" | "ensureRuntime">,
  userId: string,
  input: SendMessageInput,
  opts: {
    source?: "web" | "telegram";
    /** For Telegram: the chat the runtime answers in. */
    telegramChatId?: number;
    now?: Date;
  } = {},
): Promise<SendMessageResult> {
  const now = opts.now ?? new Date();
  const text = input.text.trim();
  if (!text) throw new AppError("bad_request", "Message must not be empty");
  if (input.text.length > LIMITS.messageChars) {
    throw new AppError(
      "payload_too_large",
      `Message is too long: ${input.text.length} characters, the limit is ${LIMITS.messageChars}`,
      { details: { limit: LIMITS.messageChars, length: input.text.length } },
    );
  }
  const sentAt = keyTime(input.idempotencyKey);
  if (sentAt < now.getTime() - KEY_MAX_AGE_MS || sentAt > now.getTime() + KEY_MAX_AHEAD_MS) {
    throw new AppError(
      "bad_request",
      "idempotencyKey is too old or from a clock that is far off; reload the page and send again",
    );
  }

  let conversationId: string;
  let created: Conversation | undefined;
  if (input.conversationId) {
    conversationId = input.conversationId;
  } else {
    conversationId = deriveId("conversation", userId, "", input.idempotencyKey);
    if (!(await ports.chatStore.getConversation(userId, conversationId))) {
      const at = now.toISOString();
      const conversation: Conversation = {
        id: conversationId,
        title: titleFromText(text),
        createdAt: at,
        updatedAt: at,
      };
      try {
        await ports.chatStore.createConversation(userId, conversation);
        created = conversation;
      } catch (err) {
        // A concurrent duplicate created it first: the same conversation, so carry on.
        if (!(await ports.chatStore.getConversation(userId, conversationId))) throw err;
      }
    }
  }

  const messageId = deriveId("message", userId, conversationId, input.idempotencyKey);
  const message: Message = {
    id: messageId,
    conversationId,
    role: "user",
    content: text,
    status: "complete",
    createdAt: now.toISOString(),
    source: opts.source ?? "web",
  };
  const item: PendingItem = {
    userId,
    id: messageId,
    conversationId,
    messageId,
    text,
    source: opts.source ?? "web",
    ...(opts.telegramChatId !== undefined ? { telegramChatId: opts.telegramChatId } : {}),
    enqueuedAt: now.toISOString(),
    attempts: 0,
  };

  // Duplicates and anything uncertain name the item by id only; the runtime then claims it
  // and checks the queue's order and the stored reply before it runs.
  let wakeItem: WakeItem = { id: item.id, conversationId, messageId };
  /** For a send that created its item in a caught-up conversation: the runtime may start at once. */
  const ready = (seq: number): WakeItem => ({
    ...wakeItem,
    seq,
    run: {
      text,
      source: item.source,
      ...(item.telegramChatId !== undefined ? { telegramChatId: item.telegramChatId } : {}),
      enqueuedAt: item.enqueuedAt,
    },
  });
  let fresh: boolean;
  if (input.conversationId) {
    // The ownership check, the message and the queue item go out together: one store round
    // trip before the wake-up instead of three. The check is the conditional bump of the
    // conversation (it moves up in the list, and the send is counted), which fails for a
    // conversation that does not exist; keys are per user, so someone else's is simply not
    // found here. What was written next to a conversation that does not exist is removed
    // again before answering; a runtime that claims such an item in between finds no
    // conversation and drops it.
    const [found, stored, queued] = await Promise.allSettled([
      ports.chatStore.recordSend(userId, conversationId, now.toISOString()),
      ports.chatStore.putMessage(userId, message),
      ports.queue.enqueue(item),
    ]);
    const itemCreated = queued.status === "fulfilled" && queued.value;
    const notFound =
      found.status === "rejected" && isAppError(found.reason) && found.reason.code === "not_found";
    // Any other failure proves nothing: what was written stays for the retry to complete.
    if (found.status === "rejected" && !notFound) throw found.reason;
    if (notFound) {
      if (itemCreated) await removeQueued(ports, userId, item.id);
      if (stored.status === "fulfilled" && stored.value) await removeOrphan(ports, userId, conversationId);
      throw new AppError("not_found", "Conversation not found");
    }
    if (stored.status === "rejected") {
      // Nothing may answer a message that was not stored; the retry queues it again.
      if (itemCreated) await removeQueued(ports, userId, item.id);
      throw stored.reason;
    }
    fresh = stored.value;
    if (!fresh) {
      // A retry or a double click. Its item was created again only if the first one is gone:
      // keep it only for a recent message that nothing answered (a request that failed halfway).
      if (itemCreated && !(await needsAnswer(ports, userId, conversationId, messageId, now))) {
        await removeQueued(ports, userId, item.id);
      }
      if (queued.status === "rejected") throw queued.reason;
      await ports.ensureRuntime(userId, { item: wakeItem });
      return { conversationId, messageId, duplicate: true };
    }
    // Stored but not queued: the client's retry (same key) finds it and queues it.
    if (queued.status === "rejected") throw queued.reason;
    if (found.status === "fulfilled") {
      wakeItem =
        found.value.caughtUp && itemCreated ? ready(found.value.seq) : { ...wakeItem, seq: found.value.seq };
    }
  } else {
    fresh = await ports.chatStore.putMessage(userId, message);
    if (!fresh) {
      if (await needsReenqueue(ports, userId, conversationId, messageId, now)) {
        await ports.queue.enqueue(item);
      }
      // Waking is idempotent; a retry after a failed wake-up must still start the runtime.
      await ports.ensureRuntime(userId, { item: wakeItem });
      return { conversationId, messageId, duplicate: true };
    }
    const itemCreated = await ports.queue.enqueue(item);
    // Send 1 of a conversation this request created: nothing older can wait in it.
    if (created && itemCreated) wakeItem = ready(1);
  }

  // The wake-up is what the user waits for: it goes out first (ensureRuntime publishes it
  // before it checks the runtime), and the copy for other tabs once it is out, or after a
  // few milliseconds when the check takes longer (a launch).
  const woken = ports.ensureRuntime(userId, { item: wakeItem });
  // Settled either way: a failed wake-up must not keep the copy from going out.
  await Promise.race([woken.catch(() => undefined), new Promise((r) => setTimeout(r, ANNOUNCE_AFTER_MS))]);
  const [wokenResult, announced] = await Promise.allSettled([
    woken,
    // Other tabs (and the sidebar) learn about the message from this; the sender already shows it.
    ports.publisher.publish(conversationChannel(userId, conversationId), [
      { type: "message", at: nowIso(), message },
    ]),
  ]);
  if (wokenResult.status === "rejected") throw wokenResult.reason;
  // The message is stored and queued; a tab that missed the event catches up from the store.
  if (announced.status === "rejected")
    console.warn("sendMessage: publishing the message event failed", errorText(announced.reason));
  return { conversationId, messageId, duplicate: false, ...(created ? { conversation: created } : {}) };
}

/**
 * Removes what a send wrote under a conversation id that turned out not to exist. Deleting
 * the (non-existent) conversation deletes the messages filed under it.
 */
async function removeOrphan(
  ports: Pick<ServicePorts, "chatStore">,
  userId: string,
  conversationId: string,
): Promise<void> {
  try {
    await ports.chatStore.deleteConversation(userId, conversationId);
  } catch (err) {
    console.warn("sendMessage: removing a message sent to an unknown conversation failed", errorText(err));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A recent duplicate that is neither queued nor answered was never enqueued: the earlier request failed halfway. */
async function needsReenqueue(
  ports: Pick<ServicePorts, "chatStore" | "queue">,
  userId: string,
  conversationId: string,
  messageId: string,
  now: Date,
): Promise<boolean> {
  const queued = await ports.queue.list(userId);
  if (queued.some((i) => i.id === messageId)) return false;
  return needsAnswer(ports, userId, conversationId, messageId, now);
}

/** The stored message is recent and has no reply yet. */
async function needsAnswer(
  ports: Pick<ServicePorts, "chatStore">,
  userId: string,
  conversationId: string,
  messageId: string,
  now: Date,
): Promise<boolean> {
  const existing = await ports.chatStore.getMessage(userId, conversationId, messageId);
  if (!existing || now.getTime() - Date.parse(existing.createdAt) > REENQUEUE_WINDOW_MS) return false;
  const later = await ports.chatStore.listMessages(userId, conversationId, { after: messageId, limit: 50 });
  return !later.items.some((m) => m.replyTo === messageId);
}

async function removeQueued(
  ports: Pick<ServicePorts, "queue">,
  userId: string,
  itemId: string,
): Promise<void> {
  try {
    await ports.queue.remove(userId, itemId);
  } catch (err) {
    // The runtime drops an item whose conversation does not exist, and answers a message once.
    console.warn("sendMessage: removing a queue item again failed", errorText(err));
  }
}
