import { createHash } from "node:crypto";
import { z } from "zod";
import type { Adapters } from "../adapters";
import {
  type Conversation,
  conversationChannel,
  idSchema,
  LIMITS,
  type Message,
  nowIso,
  type PendingItem,
} from "../contracts";
import { AppError, errorMessage, isAppError } from "../errors";
import { titleFromText } from "./conversations";
import { type EnsureRuntimePorts, ensureRuntime } from "./ensure-runtime";

/*
 * Sending a message: validate, authorize, store, enqueue, wake the runtime, answer with ids.
 * The route handler never waits for the agent: it answers 202 with ids and the reply
 * arrives over AppSync Events.
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
 * message but failed before enqueueing it, so it is enqueued if nothing answered it yet.
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

export type SendMessagePorts = EnsureRuntimePorts & Pick<Adapters, "chatStore" | "queue">;

/**
 * One checked path: store the message (put-once), queue it, move the conversation up, then
 * wake the runtime and tell the user's other tabs. Moving the conversation up is also the
 * ownership and existence check: it fails for a conversation that is not the user's, does
 * not exist or is being deleted, and what this send wrote is then removed again.
 */
export async function sendMessage(
  ports: SendMessagePorts,
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

  const conversationId = input.conversationId ?? deriveId("conversation", userId, "", input.idempotencyKey);
  const created = input.conversationId
    ? undefined
    : await createConversation(ports, userId, conversationId, text, now);
  const messageId = deriveId("message", userId, conversationId, input.idempotencyKey);
  const source = opts.source ?? "web";
  const message: Message = {
    id: messageId,
    conversationId,
    role: "user",
    content: text,
    status: "complete",
    createdAt: now.toISOString(),
    source,
  };
  const item: PendingItem = {
    userId,
    id: messageId,
    conversationId,
    messageId,
    text,
    source,
    ...(opts.telegramChatId !== undefined ? { telegramChatId: opts.telegramChatId } : {}),
    enqueuedAt: now.toISOString(),
    attempts: 0,
  };

  const fresh = await ports.chatStore.putMessage(userId, message);
  // A retry or a double click queues nothing new, unless the first request stored the
  // message and failed before queueing it (recent and unanswered). Enqueueing is put-once.
  const queue = fresh || (await needsAnswer(ports, userId, conversationId, messageId, now));
  const itemCreated = queue ? await ports.queue.enqueue(item) : false;
  try {
    await ports.chatStore.updateConversation(userId, conversationId, { updatedAt: now.toISOString() });
  } catch (err) {
    if (!isAppError(err) || err.code !== "not_found") throw err; // what was written stays for the retry
    if (itemCreated) await removeQuietly("a queue item", () => ports.queue.remove(userId, item.id));
    // Deleting the (missing or going) conversation deletes the messages filed under it.
    if (fresh)
      await removeQuietly("a message", () => ports.chatStore.deleteConversation(userId, conversationId));
    throw new AppError("not_found", "Conversation not found");
  }

  // Waking is idempotent: a duplicate wakes too, so a retry after a failed wake-up still starts the runtime.
  const [woken, announced] = await Promise.allSettled([
    ensureRuntime(ports, userId),
    // Other tabs (and the sidebar) learn about the message from this; the sender already shows it.
    fresh
      ? ports.publisher.publish(conversationChannel(userId, conversationId), [
          { type: "message", at: nowIso(), message },
        ])
      : Promise.resolve(),
  ]);
  if (woken.status === "rejected") throw woken.reason;
  // The message is stored and queued; a tab that missed the event catches up from the store.
  if (announced.status === "rejected")
    console.warn("sendMessage: publishing the message event failed", errorMessage(announced.reason));
  return { conversationId, messageId, duplicate: !fresh, ...(created ? { conversation: created } : {}) };
}

/** The conversation a first message starts (its id comes from the key, so a retry finds it). */
async function createConversation(
  ports: Pick<Adapters, "chatStore">,
  userId: string,
  conversationId: string,
  text: string,
  now: Date,
): Promise<Conversation | undefined> {
  if (await ports.chatStore.getConversation(userId, conversationId)) return undefined;
  const at = now.toISOString();
  const conversation: Conversation = {
    id: conversationId,
    title: titleFromText(text),
    createdAt: at,
    updatedAt: at,
  };
  try {
    await ports.chatStore.createConversation(userId, conversation);
    return conversation;
  } catch (err) {
    // A concurrent duplicate created it first: the same conversation, so carry on.
    if (await ports.chatStore.getConversation(userId, conversationId)) return undefined;
    throw err;
  }
}

/** The stored message is recent and has no reply yet. */
async function needsAnswer(
  ports: Pick<Adapters, "chatStore">,
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

async function removeQuietly(what: string, remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (err) {
    // The runtime drops an item whose conversation does not exist, and answers a message once.
    console.warn(`sendMessage: removing ${what} sent to an unknown conversation failed`, errorMessage(err));
  }
}
