import {
  type ChatEvent,
  MAX_EVENT_BYTES,
  type Message,
  nowIso,
  type PendingItem,
  type RunErrorCode,
  replyIdFor,
} from "../../../lib/contracts";
import type { ReplyDraft } from "./turn-outcome";

/*
 * The messages and events a turn produces, built from the queue item it answers.
 */

type FinalEvent = Extract<ChatEvent, { type: "final" }>;

/** The assistant message that answers `item`; its id follows from the item's message (replyIdFor). */
export function replyMessage(item: PendingItem, draft: ReplyDraft): Message {
  return {
    id: replyIdFor(item.messageId),
    conversationId: item.conversationId,
    role: "assistant",
    content: draft.content,
    status: draft.status,
    createdAt: nowIso(),
    replyTo: item.messageId,
    source: item.source,
    ...(draft.error ? { error: draft.error } : {}),
    ...(draft.tools.length > 0 ? { tools: draft.tools } : {}),
  };
}

export function runStartedEvent(runId: string, item: PendingItem): ChatEvent {
  return {
    type: "run.started",
    at: nowIso(),
    runId,
    conversationId: item.conversationId,
    replyTo: item.messageId,
  };
}

export function errorEvent(
  runId: string,
  item: PendingItem,
  error: { code: RunErrorCode; message: string },
): ChatEvent {
  return {
    type: "error",
    at: nowIso(),
    runId,
    conversationId: item.conversationId,
    replyTo: item.messageId,
    code: error.code,
    message: error.message.slice(0, 1_000),
  };
}

export function finalEvent(runId: string, message: Message): FinalEvent {
  return fitFinalEvent({ type: "final", at: nowIso(), runId, message });
}

/** What a final event says in place of the text that did not fit. */
export const TRUNCATED_NOTE =
  "\n\n[…] This reply is longer than a live update can carry; reload the conversation to see all of it.";

/**
 * A final event must fit AppSync's 240 KB per event. A longer reply is stored whole; the
 * live event carries its beginning and a note (the streamed deltas had all of it anyway).
 */
export function fitFinalEvent(event: FinalEvent): FinalEvent {
  const limit = MAX_EVENT_BYTES - 2_048;
  const size = (e: ChatEvent) => Buffer.byteLength(JSON.stringify(e));
  if (size(event) <= limit) return event;
  let message = { ...event.message, tools: event.message.tools?.map(({ summary: _s, ...t }) => t) };
  let content = message.content;
  while (size({ ...event, message }) > limit && content.length > 0) {
    content = content.slice(0, Math.floor(content.length * 0.8));
    message = { ...message, content: content + TRUNCATED_NOTE };
  }
  return { ...event, message };
}

/**
 * What a re-run of a message tells OpenClaw first. An earlier attempt may have called tools
 * before its runtime or engine died (a mail sent, a file written); OpenClaw cannot tell, so
 * it is asked to check rather than repeat them.
 */
export const RERUN_NOTE =
  "This message was interrupted while you were answering it; tools you called may already have run — check before repeating them.";

/** The text the engine runs for `item`: the user's message, after RERUN_NOTE from the second attempt on. */
export function runText(item: PendingItem): string {
  return item.attempts > 1 ? `${RERUN_NOTE}\n\n${item.text}` : item.text;
}
