import { z } from "zod";
import type { Adapters } from "../adapters";
import { idSchema, type PendingItem, replyIdFor } from "../contracts";
import { AppError, errorMessage, isAppError } from "../errors";
import { type EnsureRuntimePorts, ensureRuntime } from "./ensure-runtime";

/*
 * Retrying a failed reply runs the same user message again: its failed reply is removed
 * and the message is queued once more under its own id, so the new answer is stored under
 * the same reply id and the conversation shows the message once, with one answer.
 */

export const retryParamsSchema = z.object({ id: idSchema, messageId: idSchema });

export interface RetryRunResult {
  conversationId: string;
  messageId: string;
  /** False when the message was queued already (a double click): nothing new was queued. */
  queued: boolean;
}

export type RetryRunPorts = EnsureRuntimePorts & Pick<Adapters, "chatStore" | "queue">;

export async function retryRun(
  ports: RetryRunPorts,
  userId: string,
  conversationId: string,
  messageId: string,
  opts: { now?: Date } = {},
): Promise<RetryRunResult> {
  const now = opts.now ?? new Date();
  const [{ conversation, message }, queue] = await Promise.all([
    ports.chatStore.getConversationAndMessage(userId, conversationId, messageId),
    ports.queue.list(userId),
  ]);
  if (!conversation || !message || message.role !== "user")
    throw new AppError("not_found", "Message not found");
  // Read after the queue: a concurrent retry removes the reply before it queues the
  // message, so a queued message seen here comes with its reply already gone.
  const reply = await ports.chatStore.getMessage(userId, conversationId, replyIdFor(messageId));
  if (reply && reply.status !== "error") {
    throw new AppError(
      "conflict",
      `This message has ${reply.status === "aborted" ? "been stopped" : "been answered"}; only a failed reply can be retried`,
    );
  }
  const waiting = queue.some((i) => i.id === messageId);
  // Queued and its failed reply stored: the failed run has not handed its item back yet.
  if (waiting && reply)
    throw new AppError("conflict", "The agent is still finishing this message; try again in a moment");

  let queued = false;
  if (!waiting) {
    // The runtime skips a message whose reply is stored, so the failed one goes first.
    if (reply) await ports.chatStore.deleteMessage(userId, conversationId, reply.id);
    const item: PendingItem = {
      userId,
      id: messageId,
      conversationId,
      messageId,
      text: message.content,
      source: message.source ?? "web",
      enqueuedAt: now.toISOString(),
      attempts: 0,
    };
    // Put-once by id: of two concurrent retries, one queues it.
    queued = await ports.queue.enqueue(item);
    try {
      await ports.chatStore.updateConversation(userId, conversationId, { updatedAt: now.toISOString() });
    } catch (err) {
      if (!isAppError(err) || err.code !== "not_found") throw err;
      // Deleted meanwhile: its queue item must not outlive it.
      if (queued)
        await ports.queue.remove(userId, messageId).catch((e: unknown) => {
          console.warn("retryRun: removing the item of a deleted conversation failed", errorMessage(e));
        });
      throw new AppError("not_found", "Message not found");
    }
  }
  // A retry of a retry that is already queued still wakes: the earlier wake-up may have failed.
  await ensureRuntime(ports, userId);
  return { conversationId, messageId, queued };
}
