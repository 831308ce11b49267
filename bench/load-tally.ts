/*
 * How `bench:load` judges one message, from what the user's subscriber saw live and what
 * the store holds for its conversation at the end. Pure, so the rules are unit-tested.
 *
 *   delivered   one final reply, complete, answering this message, stored once
 *   duplicated  the user message stored twice, or more than one distinct reply (live or stored)
 *   failed      answered, but with an error, an aborted run or another message's answer
 *   lost        no final by the deadline, or a final that is not in the store (or the reverse)
 */

export type Outcome = "delivered" | "duplicated" | "failed" | "lost";

export interface SentMessage {
  messageId: string;
  conversationId: string;
  /** A string only this message's text holds; the fake LLM's echo carries it into the reply. */
  marker: string;
  /** When the POST was sent, ms. */
  sentAt: number;
}

/** A `final` event for this message (`message.replyTo` is its id), as the subscriber got it. */
export interface LiveFinal {
  replyId: string;
  status: string;
  content: string;
  /** When it arrived, ms. */
  at: number;
}

export interface StoredMessage {
  id: string;
  role: string;
  content: string;
  status: string;
  replyTo?: string;
}

export interface Verdict {
  outcome: Outcome;
  /** POST → first final at the subscriber, for a delivered message. */
  latencyMs?: number;
  /** Why, when not delivered. */
  reason?: string;
  /** The same final arrived more than once (one reply, repeated on the wire). */
  repeatedFinals: number;
}

export function judge(
  sent: SentMessage,
  live: readonly LiveFinal[],
  liveErrors: number,
  stored: readonly StoredMessage[],
): Verdict {
  const userCopies = stored.filter(
    (m) => m.role === "user" && (m.id === sent.messageId || m.content.includes(sent.marker)),
  );
  const replies = stored.filter((m) => m.role === "assistant" && m.replyTo === sent.messageId);
  const distinctLive = new Set(live.map((f) => `${f.replyId}\u0000${f.status}\u0000${f.content}`));
  const repeatedFinals = live.length - distinctLive.size;
  const verdict = (outcome: Outcome, reason?: string): Verdict => ({
    outcome,
    ...(reason ? { reason } : {}),
    repeatedFinals,
  });

  if (userCopies.length > 1)
    return verdict("duplicated", `the user message is stored ${userCopies.length} times`);
  if (replies.length > 1) return verdict("duplicated", `${replies.length} replies are stored`);
  if (distinctLive.size > 1) return verdict("duplicated", `${distinctLive.size} different finals arrived`);
  if (userCopies.length === 0) return verdict("lost", "the user message is not in the store");

  const reply = replies[0];
  const first = live[0];
  if (!first && !reply)
    return verdict(
      liveErrors > 0 ? "failed" : "lost",
      liveErrors > 0 ? "an error event, no reply" : "no final by the deadline",
    );
  if (!first) return verdict("lost", "a reply is stored but no final arrived");
  if (!reply) return verdict("lost", "a final arrived but no reply is stored");
  if (reply.id !== first.replyId || reply.content !== first.content)
    return verdict("duplicated", "the stored reply differs from the final that arrived");
  if (reply.status !== "complete") return verdict("failed", `the reply is ${reply.status}`);
  if (!reply.content.includes(sent.marker)) return verdict("failed", "the reply answers another message");
  if (liveErrors > 0) return verdict("failed", "an error event arrived besides the reply");
  return { outcome: "delivered", latencyMs: first.at - sent.sentAt, repeatedFinals };
}
