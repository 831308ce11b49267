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
  /**
   * Per conversation, when (an `asOf` tick) the copy we hold, or its removal, was known:
   * a copy read earlier than that (a list asked before a rename answered) is stale.
   */
  conversationsAsOf: Record<string, number>;
  /**
   * The conversation the new-chat page started: that page shows it until it has moved to
   * `/c/<id>`, so the first message never disappears in between.
   */
  newChat?: string;
  messages: Record<string, Record<string, Message>>;
  /** Messages removed here (a failed reply being retried), by id, with the createdAt of the copy removed. */
  removed: Record<string, string>;
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
  conversationsAsOf: {},
  messages: {},
  removed: {},
  historyLoaded: {},
  runs: {},
  doneRuns: {},
  outgoing: [],
  errors: [],
  runtime: { state: "asleep" },
};

/*
 * `asOf` orders the copies of a conversation the browser receives: a tick taken when a
 * read was asked (its answer reflects at least that moment) or when a write of ours was
 * answered. The larger tick wins, so a read that was under way while the user renamed or
 * deleted cannot undo it.
 */
export type ChatAction =
  | { type: "conversations"; items: Conversation[]; replace: boolean; asOf: number }
  | { type: "conversation.upsert"; conversation: Conversation; asOf: number }
  | { type: "conversation.remove"; conversationId: string; asOf: number }
  | { type: "history"; conversationId: string; items: Message[] }
  | { type: "event"; event: ChatEvent }
  | { type: "send.start"; message: OutgoingMessage }
  | { type: "send.accepted"; key: string; message: Message }
  | { type: "send.failed"; key: string; error: string }
  | { type: "send.discard"; key: string }
  /** The page moved to a conversation or to a fresh new chat. */
  | { type: "navigated" }
  /** Retry of a failed reply: its error goes at once, the new reply streams under the same message. */
  | { type: "retry.start"; conversationId: string; replyTo: string }
  | { type: "retry.failed"; conversationId: string; replyTo: string; error: string; at: string }
  | { type: "runtime"; runtime: RuntimeView };

function putMessages(state: ChatState, items: Message[]): ChatState {
  if (items.length === 0) return state;
  const messages = { ...state.messages };
  let runs = state.runs;
  let doneRuns = state.doneRuns;
  let errors = state.errors;
  let outgoing = state.outgoing;
  for (const m of items) {
    // The copy a retry removed, brought back by a history page read before the server removed it.
    if (state.removed[m.id] === m.createdAt) continue;
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

/** Drops stored messages from the view, and remembers them so that a late history page does not bring them back. */
function removeMessages(state: ChatState, conversationId: string, ids: Message[]): ChatState {
  if (ids.length === 0) return state;
  const msgs = { ...state.messages[conversationId] };
  const removed = { ...state.removed };
  for (const m of ids) {
    delete msgs[m.id];
    removed[m.id] = m.createdAt;
  }
  return { ...state, messages: { ...state.messages, [conversationId]: msgs }, removed };
}

/** The stored failed replies to a user message. */
function failedReplies(state: ChatState, conversationId: string, replyTo: string): Message[] {
  return Object.values(state.messages[conversationId] ?? {}).filter(
    (m) => m.role === "assistant" && m.replyTo === replyTo && m.status === "error",
  );
}

/**
 * When the elapsed seconds of a wake-up count from: the earliest start any source gave for
 * it (the launch, as the status route and the launcher say), so that a later stage whose
 * source names a later start cannot set the clock back.
 */
function wakingSince(prev: RuntimeView, incoming: string | undefined): string | undefined {
  const earlier = prev.state === "waking" ? prev.since : undefined;
  if (!earlier || !incoming) return earlier ?? incoming;
  return Date.parse(incoming) < Date.parse(earlier) ? incoming : earlier;
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
    case "status": {
      const since =
        event.state === "waking" ? (wakingSince(state.runtime, event.since) ?? event.at) : undefined;
      return {
        ...state,
        runtime: {
          state: event.state,
          ...(event.stage ? { stage: event.stage } : {}),
          ...(since ? { since } : {}),
        },
      };
    }
    case "message":
      return bumpConversation(putMessages(state, [event.message]), event.message.conversationId, event.at);
    case "run.started": {
      if (state.doneRuns[event.runId]) return state;
      // A run for a message whose stored reply failed is its retry (from this tab or another).
      const base = event.replyTo
        ? removeMessages(
            state,
            event.conversationId,
            failedReplies(state, event.conversationId, event.replyTo),
          )
        : state;
      if (hasReply(base, event.conversationId, event.replyTo)) return state;
      const existing = base.runs[event.runId];
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
        ...base,
        runs: { ...base.runs, [event.runId]: run },
        errors: base.errors.filter((e) => e.replyTo !== event.replyTo),
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
      // A repeat of the error that ended a run must not come back after its retry began.
      if (event.runId && state.doneRuns[event.runId]) return state;
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
      const known = state.conversationsAsOf;
      const newer = (id: string) => (known[id] ?? Number.NEGATIVE_INFINITY) > action.asOf;
      // A replacing list drops what it lacks, except what we learned after it was asked for.
      const conversations = action.replace
        ? Object.fromEntries(Object.entries(state.conversations).filter(([id]) => newer(id)))
        : { ...state.conversations };
      const conversationsAsOf = { ...known };
      for (const c of action.items) {
        // Ours is newer (renamed or deleted since the list was asked for): it stays as it is.
        if (newer(c.id)) continue;
        conversations[c.id] = c;
        conversationsAsOf[c.id] = action.asOf;
      }
      return { ...state, conversations, conversationsAsOf, conversationsLoaded: true };
    }
    case "conversation.upsert": {
      const { conversation, asOf } = action;
      if ((state.conversationsAsOf[conversation.id] ?? Number.NEGATIVE_INFINITY) > asOf) return state;
      return {
        ...state,
        conversations: { ...state.conversations, [conversation.id]: conversation },
        conversationsAsOf: { ...state.conversationsAsOf, [conversation.id]: asOf },
      };
    }
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
        conversationsAsOf: {
          ...state.conversationsAsOf,
          [action.conversationId]: Math.max(
            action.asOf,
            state.conversationsAsOf[action.conversationId] ?? Number.NEGATIVE_INFINITY,
          ),
        },
        ...(state.newChat === action.conversationId ? { newChat: undefined } : {}),
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
      const sent = state.outgoing.find((o) => o.key === action.key);
      const outgoing = state.outgoing.filter((o) => o.key !== action.key);
      // The first message of a new chat: the page keeps showing it until it moves to /c/<id>.
      const newChat = sent && !sent.conversationId ? action.message.conversationId : state.newChat;
      return putMessages({ ...state, outgoing, newChat }, [action.message]);
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
    case "navigated":
      return state.newChat === undefined ? state : { ...state, newChat: undefined };
    case "retry.start": {
      const { conversationId, replyTo } = action;
      const next = removeMessages(state, conversationId, failedReplies(state, conversationId, replyTo));
      return {
        ...next,
        errors: next.errors.filter((e) => !(e.conversationId === conversationId && e.replyTo === replyTo)),
      };
    }
    case "retry.failed": {
      const { conversationId, replyTo } = action;
      if (hasReply(state, conversationId, replyTo)) return state;
      const errors = state.errors.filter(
        (e) => !(e.conversationId === conversationId && e.replyTo === replyTo),
      );
      errors.push({ conversationId, replyTo, code: "retry_failed", message: action.error, at: action.at });
      return { ...state, errors };
    }
    case "runtime": {
      // The elapsed-seconds clock runs across polls and events of the same wake-up.
      const { since: _since, ...rest } = action.runtime;
      const since =
        action.runtime.state === "waking" ? wakingSince(state.runtime, action.runtime.since) : _since;
      return { ...state, runtime: { ...rest, ...(since ? { since } : {}) } };
    }
  }
}

/** One row of the conversation view, in display order. */
export type ChatItem =
  | { kind: "message"; message: Message }
  | { kind: "run"; run: RunView }
  | { kind: "error"; error: RunError }
  | { kind: "outgoing"; outgoing: OutgoingMessage };

/**
 * The conversation a page shows: its own, or for the new-chat page (no id) the one its
 * first message started, until the page has moved to it.
 */
export function shownConversation(state: ChatState, routeId: string | undefined): string | undefined {
  return routeId ?? state.newChat;
}

/**
 * The rows of one conversation (undefined: the new-chat page): stored messages by id (ids
 * sort by time), each live stream or error right after the message it answers, then our
 * messages still in flight.
 */
export function conversationItems(state: ChatState, routeId: string | undefined): ChatItem[] {
  const items: ChatItem[] = [];
  const conversationId = shownConversation(state, routeId);
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
    if (o.conversationId === conversationId || o.conversationId === routeId)
      items.push({ kind: "outgoing", outgoing: o });
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

/** True while a reply in this conversation (undefined: the new-chat page) is streaming or queued behind our message. */
export function isRunActive(state: ChatState, routeId: string | undefined): boolean {
  const conversationId = shownConversation(state, routeId);
  const sending = (o: OutgoingMessage) =>
    o.status === "sending" && (o.conversationId === conversationId || o.conversationId === routeId);
  if (state.outgoing.some(sending)) return true;
  if (!conversationId) return false;
  if (Object.values(state.runs).some((r) => r.conversationId === conversationId)) return true;
  // A user message without a reply or an error is still waiting for the agent.
  const msgs = Object.values(state.messages[conversationId] ?? {});
  const last = msgs.sort((a, b) => (a.id < b.id ? -1 : 1)).at(-1);
  return (
    last?.role === "user" &&
    !state.errors.some((e) => e.replyTo === last.id) &&
    !hasReply(state, conversationId, last.id)
  );
}
