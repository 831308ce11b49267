import type { ChatEvent, Conversation, Message, ToolActivity } from "@/lib/contracts";
import type { RuntimeStatus } from "@/lib/services/runtime";

/*
 * The browser's picture of the user's chats, as one pure reducer so the rules that matter
 * (a reply grows from deltas, a finished reply replaces its stream, nothing is shown twice,
 * catch-up merges with what streamed) are unit-tested without a browser.
 *
 * Sources, which may overlap or arrive in any order: history pages from the API, realtime
 * events from `/chat/<sub>/*`, and the answers to our own POSTs. Everything is merged by
 * id: messages by message id, streams by run id, and a stored reply ends every stream
 * that answers the same user message.
 */

/** A reply being streamed. */
export interface RunView {
  runId: string;
  conversationId: string;
  replyTo?: string;
  text: string;
  /** The next delta seq we expect; a delta with a lower seq was already applied. */
  nextSeq: number;
  tools: ToolActivity[];
  phase?: string;
  startedAt: string;
}

/** A message we are sending: shown at once, before the server has answered. */
export interface OutgoingMessage {
  key: string;
  /** Undefined while it starts a new conversation. */
  conversationId?: string;
  text: string;
  status: "sending" | "failed";
  error?: string;
  createdAt: string;
}

/** A run that failed without a stored reply (yet): shown under its message with a retry. */
export interface RunError {
  conversationId: string;
  replyTo?: string;
  code: string;
  message: string;
  at: string;
}

/** The part of the server's runtime status the chat shows (`since`: for the elapsed seconds). */
export type RuntimeView = Pick<RuntimeStatus, "state" | "stage" | "since">;

export interface ChatState {
  conversations: Record<string, Conversation>;
  conversationsLoaded: boolean;
  messages: Record<string, Record<string, Message>>;
  /** Conversations whose history has been fetched at least once. */
  historyLoaded: Record<string, boolean>;
  runs: Record<string, RunView>;
  /** Runs that ended: a late delta or tool event for one of them is ignored. */
  doneRuns: Record<string, true>;
  outgoing: OutgoingMessage[];
  errors: RunError[];
  runtime: RuntimeView;
}

export const initialChatState: ChatState = {
  conversations: {},
  conversationsLoaded: false,
  messages: {},
  historyLoaded: {},
  runs: {},
  doneRuns: {},
  outgoing: [],
  errors: [],
  runtime: { state: "asleep" },
};

export type ChatAction =
  | { type: "conversations"; items: Conversation[]; replace: boolean }
  | { type: "conversation.upsert"; conversation: Conversation }
  | { type: "conversation.remove"; conversationId: string }
  | { type: "history"; conversationId: string; items: Message[] }
  | { type: "event"; event: ChatEvent }
  | { type: "send.start"; message: OutgoingMessage }
  | { type: "send.accepted"; key: string; message: Message }
  | { type: "send.failed"; key: string; error: string }
  | { type: "send.discard"; key: string }
  | { type: "runtime"; runtime: RuntimeView };

function putMessages(state: ChatState, items: Message[]): ChatState {
  if (items.length === 0) return state;
  const messages = { ...state.messages };
  let runs = state.runs;
  let doneRuns = state.doneRuns;
  let errors = state.errors;
  let outgoing = state.outgoing;
  for (const m of items) {
    messages[m.conversationId] = { ...messages[m.conversationId], [m.id]: m };
    if (m.role === "assistant" && m.replyTo) {
      // The stored reply is the truth: drop its stream and any transient error for it.
      const replyTo = m.replyTo;
      const ended = Object.values(runs).filter((r) => r.replyTo === replyTo);
      if (ended.length > 0) {
        runs = Object.fromEntries(Object.entries(runs).filter(([, r]) => r.replyTo !== replyTo));
        doneRuns = { ...doneRuns, ...Object.fromEntries(ended.map((r) => [r.runId, true as const])) };
      }
      if (errors.some((e) => e.replyTo === replyTo)) errors = errors.filter((e) => e.replyTo !== replyTo);
    }
    if (m.role === "user") {
      // Our own message seen through an event or history before the POST answered.
      const i = outgoing.findIndex(
        (o) => o.status === "sending" && o.text === m.content && o.conversationId === m.conversationId,
      );
      if (i >= 0) outgoing = outgoing.filter((_, j) => j !== i);
    }
  }
  return { ...state, messages, runs, doneRuns, errors, outgoing };
}

function endRun(state: ChatState, runId: string | undefined): ChatState {
  if (!runId) return state;
  const runs = { ...state.runs };
  delete runs[runId];
  return { ...state, runs, doneRuns: { ...state.doneRuns, [runId]: true } };
}

function bumpConversation(state: ChatState, conversationId: string, at: string): ChatState {
  const c = state.conversations[conversationId];
  if (!c || c.updatedAt >= at) return state;
  return { ...state, conversations: { ...state.conversations, [conversationId]: { ...c, updatedAt: at } } };
}

function applyEvent(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case "status":
      return {
        ...state,
        runtime: {
          state: event.state,
          ...(event.stage ? { stage: event.stage } : {}),
          ...(event.state === "waking"
            ? { since: event.since ?? (state.runtime.state === "waking" ? state.runtime.since : event.at) }
            : {}),
        },
      };
    case "message":
      return bumpConversation(putMessages(state, [event.message]), event.message.conversationId, event.at);
    case "run.started": {
      if (state.doneRuns[event.runId] || hasReply(state, event.conversationId, event.replyTo)) return state;
      const existing = state.runs[event.runId];
      const run: RunView = existing
        ? { ...existing, replyTo: event.replyTo }
        : {
            runId: event.runId,
            conversationId: event.conversationId,
            replyTo: event.replyTo,
            text: "",
            nextSeq: 0,
            tools: [],
            startedAt: event.at,
          };
      return {
        ...state,
        runs: { ...state.runs, [event.runId]: run },
        errors: state.errors.filter((e) => e.replyTo !== event.replyTo),
      };
    }
    case "run.phase": {
      const run = state.runs[event.runId];
      if (!run) return state;
      return { ...state, runs: { ...state.runs, [event.runId]: { ...run, phase: event.phase } } };
    }
    case "delta": {
      if (state.doneRuns[event.runId]) return state;
      const run: RunView = state.runs[event.runId] ?? {
        runId: event.runId,
        conversationId: event.conversationId,
        text: "",
        nextSeq: event.seq,
        tools: [],
        startedAt: event.at,
      };
      if (run.replyTo && hasReply(state, run.conversationId, run.replyTo)) return state;
      // At-least-once delivery: a seq we already applied is a repeat.
      if (event.seq < run.nextSeq) return state;
      return {
        ...state,
        runs: {
          ...state.runs,
          [event.runId]: { ...run, text: run.text + event.text, nextSeq: event.seq + 1, phase: undefined },
        },
      };
    }
    case "tool": {
      const run = state.runs[event.runId];
      if (!run) return state;
      const tools = run.tools.some((t) => t.toolCallId === event.tool.toolCallId)
        ? run.tools.map((t) => (t.toolCallId === event.tool.toolCallId ? { ...t, ...event.tool } : t))
        : [...run.tools, event.tool];
      return { ...state, runs: { ...state.runs, [event.runId]: { ...run, tools } } };
    }
    case "final": {
      return bumpConversation(
        putMessages(endRun(state, event.runId), [event.message]),
        event.message.conversationId,
        event.at,
      );
    }
    case "error": {
      const run = event.runId ? state.runs[event.runId] : undefined;
      const conversationId = event.conversationId ?? run?.conversationId;
      const replyTo = event.replyTo ?? run?.replyTo;
      const ended = endRun(state, event.runId);
      if (!conversationId) return ended;
      if (replyTo && hasReply(state, conversationId, replyTo)) return ended;
      const errors = state.errors.filter((e) => !(replyTo && e.replyTo === replyTo));
      errors.push({ conversationId, replyTo, code: event.code, message: event.message, at: event.at });
      return { ...ended, errors };
    }
  }
}

/** True when a stored assistant message answers `replyTo`. */
export function hasReply(state: ChatState, conversationId: string, replyTo: string | undefined): boolean {
  if (!replyTo) return false;
  const msgs = state.messages[conversationId];
  if (!msgs) return false;
  return Object.values(msgs).some((m) => m.role === "assistant" && m.replyTo === replyTo);
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "conversations": {
      const base = action.replace ? {} : state.conversations;
      const conversations = { ...base };
      for (const c of action.items) conversations[c.id] = c;
      return { ...state, conversations, conversationsLoaded: true };
    }
    case "conversation.upsert":
      return {
        ...state,
        conversations: { ...state.conversations, [action.conversation.id]: action.conversation },
      };
    case "conversation.remove": {
      const conversations = { ...state.conversations };
      delete conversations[action.conversationId];
      const messages = { ...state.messages };
      delete messages[action.conversationId];
      const runs = Object.fromEntries(
        Object.entries(state.runs).filter(([, r]) => r.conversationId !== action.conversationId),
      );
      return {
        ...state,
        conversations,
        messages,
        runs,
        errors: state.errors.filter((e) => e.conversationId !== action.conversationId),
        outgoing: state.outgoing.filter((o) => o.conversationId !== action.conversationId),
      };
    }
    case "history": {
      const next = putMessages(state, action.items);
      return { ...next, historyLoaded: { ...next.historyLoaded, [action.conversationId]: true } };
    }
    case "event":
      return applyEvent(state, action.event);
    case "send.start":
      return { ...state, outgoing: [...state.outgoing, action.message] };
    case "send.accepted": {
      const outgoing = state.outgoing.filter((o) => o.key !== action.key);
      return putMessages({ ...state, outgoing }, [action.message]);
    }
    case "send.failed":
      return {
        ...state,
        outgoing: state.outgoing.map((o) =>
          o.key === action.key ? { ...o, status: "failed", error: action.error } : o,
        ),
      };
    case "send.discard":
      return { ...state, outgoing: state.outgoing.filter((o) => o.key !== action.key) };
    case "runtime":
      return {
        ...state,
        runtime: {
          ...action.runtime,
          // Keep the elapsed-seconds clock running across polls of the same wake-up.
          ...(action.runtime.state === "waking" && !action.runtime.since && state.runtime.state === "waking"
            ? { since: state.runtime.since }
            : {}),
        },
      };
  }
}

/** One row of the conversation view, in display order. */
export type ChatItem =
  | { kind: "message"; message: Message }
  | { kind: "run"; run: RunView }
  | { kind: "error"; error: RunError }
  | { kind: "outgoing"; outgoing: OutgoingMessage };

/**
 * The rows of one conversation: stored messages by id (ids sort by time), each live
 * stream or error right after the message it answers, then our messages still in flight.
 */
export function conversationItems(state: ChatState, conversationId: string | undefined): ChatItem[] {
  const items: ChatItem[] = [];
  if (conversationId) {
    const msgs = Object.values(state.messages[conversationId] ?? {}).sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const runs = Object.values(state.runs).filter((r) => r.conversationId === conversationId);
    const errors = state.errors.filter((e) => e.conversationId === conversationId);
    const placedRuns = new Set<string>();
    const placedErrors = new Set<RunError>();
    for (const m of msgs) {
      items.push({ kind: "message", message: m });
      for (const r of runs)
        if (r.replyTo === m.id) {
          items.push({ kind: "run", run: r });
          placedRuns.add(r.runId);
        }
      for (const e of errors)
        if (e.replyTo === m.id) {
          items.push({ kind: "error", error: e });
          placedErrors.add(e);
        }
    }
    for (const r of runs) if (!placedRuns.has(r.runId)) items.push({ kind: "run", run: r });
    for (const e of errors) if (!placedErrors.has(e)) items.push({ kind: "error", error: e });
  }
  for (const o of state.outgoing)
    if (o.conversationId === conversationId) items.push({ kind: "outgoing", outgoing: o });
  return items;
}

/** The newest stored message id of a conversation: where a catch-up starts. */
export function lastMessageId(state: ChatState, conversationId: string): string | undefined {
  let last: string | undefined;
  for (const id of Object.keys(state.messages[conversationId] ?? {})) if (!last || id > last) last = id;
  return last;
}

/** Conversations newest first. */
export function sortedConversations(state: ChatState): Conversation[] {
  return Object.values(state.conversations).sort((a, b) =>
    a.updatedAt > b.updatedAt ? -1 : a.updatedAt < b.updatedAt ? 1 : a.id < b.id ? 1 : -1,
  );
}

/** True while a reply in this conversation is streaming or queued behind our message. */
export function isRunActive(state: ChatState, conversationId: string | undefined): boolean {
  if (!conversationId) return state.outgoing.some((o) => !o.conversationId && o.status === "sending");
  if (Object.values(state.runs).some((r) => r.conversationId === conversationId)) return true;
  if (state.outgoing.some((o) => o.conversationId === conversationId && o.status === "sending")) return true;
  // A user message without a reply or an error is still waiting for the agent.
  const msgs = Object.values(state.messages[conversationId] ?? {});
  const last = msgs.sort((a, b) => (a.id < b.id ? -1 : 1)).at(-1);
  return (
    last?.role === "user" &&
    !state.errors.some((e) => e.replyTo === last.id) &&
    !hasReply(state, conversationId, last.id)
  );
}
