import { z } from "zod";
import type { Adapters } from "../adapters";
import { agentChannel, type Conversation, idSchema, LIMITS, type Message, nowIso } from "../contracts";
import { AppError } from "../errors";
import type { Page } from "../ports";

/*
 * Conversation use cases for the web API: list, get, rename, delete, page messages.
 * Every read goes through the owner's userId, so someone else's conversation looks
 * exactly like one that does not exist (404, never 403: ids are not confirmed).
 */

export const conversationIdSchema = idSchema;

/** Pagination of conversations and messages. Cursors are opaque store tokens. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.string().min(1).max(2_000).optional(),
});

export const messagesQuerySchema = pageQuerySchema.extend({
  /** Catch-up after a reconnect: only messages whose id sorts after this one. */
  after: idSchema.optional(),
});
export type MessagesQuery = z.infer<typeof messagesQuerySchema>;

export const renameSchema = z.object({
  title: z
    .string()
    .transform((s) => s.replace(/\s+/g, " ").trim())
    .pipe(
      z
        .string()
        .min(1, "title must not be empty")
        .max(LIMITS.titleChars, `title must be at most ${LIMITS.titleChars} characters`),
    ),
});

/** A sidebar title from the first message: its first line, collapsed, cut at a word near 60 characters. */
export function titleFromText(text: string): string {
  const firstLine =
    text
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? "";
  const collapsed = firstLine.replace(/\s+/g, " ").replace(/^#+\s*/, "");
  if (!collapsed) return "New chat";
  const max = 60;
  if (collapsed.length <= max) return collapsed;
  const cut = collapsed.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function notFound(): AppError {
  return new AppError("not_found", "Conversation not found");
}

export async function listConversations(
  ports: Pick<Adapters, "chatStore">,
  userId: string,
  query: z.infer<typeof pageQuerySchema> = {},
): Promise<Page<Conversation>> {
  return ports.chatStore.listConversations(userId, { limit: query.limit ?? 50, cursor: query.cursor });
}

/** The conversation, or AppError("not_found") when it is missing or not the user's. */
export async function getConversation(
  ports: Pick<Adapters, "chatStore">,
  userId: string,
  conversationId: string,
): Promise<Conversation> {
  const conversation = await ports.chatStore.getConversation(userId, conversationId);
  if (!conversation) throw notFound();
  return conversation;
}

export async function renameConversation(
  ports: Pick<Adapters, "chatStore">,
  userId: string,
  conversationId: string,
  title: string,
): Promise<Conversation> {
  await getConversation(ports, userId, conversationId);
  // Renaming does not move the conversation in the sidebar: updatedAt stays.
  return ports.chatStore.updateConversation(userId, conversationId, { title });
}

/**
 * Deletes a conversation with its messages. Its queued messages are dropped first, and a
 * run in progress is aborted, so the runtime never answers into a deleted conversation.
 */
export async function deleteConversation(
  ports: Pick<Adapters, "chatStore" | "queue" | "publisher">,
  userId: string,
  conversationId: string,
): Promise<void> {
  await getConversation(ports, userId, conversationId);
  const items = (await ports.queue.list(userId)).filter((i) => i.conversationId === conversationId);
  let running = false;
  for (const item of items) {
    if (item.claimedBy && item.leaseUntil && Date.parse(item.leaseUntil) > Date.now()) running = true;
    await ports.queue.remove(userId, item.id);
  }
  if (running) {
    await ports.publisher.publish(agentChannel(userId), [{ type: "abort", at: nowIso(), conversationId }]);
  }
  await ports.chatStore.deleteConversation(userId, conversationId);
}

/** Oldest first; with `after`, only what came after that message (catch-up after a reconnect). */
export async function listMessages(
  ports: Pick<Adapters, "chatStore">,
  userId: string,
  conversationId: string,
  query: MessagesQuery = {},
): Promise<Page<Message>> {
  await getConversation(ports, userId, conversationId);
  return ports.chatStore.listMessages(userId, conversationId, {
    limit: query.limit ?? 100,
    cursor: query.cursor,
    after: query.after,
  });
}
