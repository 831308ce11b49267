import type { Adapters } from "../adapters";
import { agentChannel, conversationChannel, type Message, nowIso, replyIdFor } from "../contracts";
import { getConversation } from "./conversations";

export interface StopRunResult {
  /** Queued messages of the conversation that had not started and were dropped. */
  dropped: string[];
}

/*
 * Stop: the run in progress is aborted by the runtime (an `abort` on `/agent/<sub>`), and
 * messages of the conversation still waiting in the queue are dropped, so that a stop
 * pressed while the agent wakes up means "do not answer", not "answer later".
 */
export async function stopRun(
  ports: Pick<Adapters, "chatStore" | "queue" | "publisher">,
  userId: string,
  conversationId: string,
): Promise<StopRunResult> {
  await getConversation(ports, userId, conversationId);
  const now = Date.now();
  const waiting = (await ports.queue.list(userId)).filter(
    (i) =>
      i.conversationId === conversationId && !(i.claimedBy && i.leaseUntil && Date.parse(i.leaseUntil) > now),
  );
  // Published first and unconditionally: the runtime may have claimed an item since we listed.
  await ports.publisher.publish(agentChannel(userId), [{ type: "abort", at: nowIso(), conversationId }]);

  const dropped: string[] = [];
  for (const item of waiting) {
    await ports.queue.remove(userId, item.id);
    dropped.push(item.messageId);
    // The same record the runtime leaves for an aborted run, so that a reload shows it too.
    // The runtime's reply id: if it claimed the item after all, only one reply is stored.
    const reply: Message = {
      id: replyIdFor(item.messageId),
      conversationId,
      role: "assistant",
      content: "",
      status: "aborted",
      createdAt: nowIso(),
      replyTo: item.messageId,
      error: { code: "aborted", message: "Stopped before the agent started." },
    };
    await ports.chatStore.putMessage(userId, reply);
    await ports.publisher.publish(conversationChannel(userId, conversationId), [
      { type: "final", at: nowIso(), runId: reply.id, message: reply },
    ]);
  }
  return { dropped };
}
