"use client";

import { usePathname, useRouter } from "next/navigation";
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from "react";
import { signInPath } from "@/components/auth/session";
import { getAccessToken, type SignedInUser } from "@/lib/client/auth";
import { type ChannelSubscription, subscribeToChannel } from "@/lib/client/realtime";
import type { ChatEvent, Conversation, Message } from "@/lib/contracts";
import { newId } from "@/lib/contracts/ids";
import { errorMessage } from "@/lib/errors";
import type { Page } from "@/lib/ports";
import type { RuntimeStatus } from "@/lib/services/runtime";
import type { SendMessageResult } from "@/lib/services/send-message";
import type { SettingsView } from "@/lib/services/settings";
import { type Api, ApiError, createApi } from "./api";
import {
  type ChatState,
  chatReducer,
  initialChatState,
  isRunActive,
  lastMessageId,
  type RunError,
  shownConversation,
} from "./chat-state";

/*
 * The chat's controller: one reducer (chat-state.ts) fed by the API and by one realtime
 * subscription to `/chat/<sub>/*` (status and every conversation), so a reply that starts
 * before the page knows the new conversation's id is not missed. After every (re)connect,
 * on focus and when a run goes quiet, the open conversation catches up from the store
 * with `?after=<newest id we have>`; the reducer merges by id, so nothing shows twice.
 */

export type Connection = "connecting" | "live" | "reconnecting";

/** What the chat needs of the settings (the settings page owns the rest). */
type ChatSettings = Pick<SettingsView, "prewarm" | "hasApiKey">;

export interface ChatContextValue {
  user: SignedInUser;
  state: ChatState;
  activeId?: string;
  connection: Connection;
  /** Conversations the server said do not exist (or are not ours). */
  notFound: Record<string, boolean>;
  /** Settings the chat cares about; undefined until loaded. */
  settings?: ChatSettings;
  clockOffsetMs: number;
  send(text: string): Promise<void>;
  retrySend(key: string): Promise<void>;
  discardSend(key: string): void;
  /** Runs the message a failed reply answered again; the new reply replaces the failed one. */
  retryRun(conversationId: string, replyTo: string | undefined): Promise<void>;
  stop(): Promise<void>;
  rename(conversationId: string, title: string): Promise<void>;
  remove(conversationId: string): Promise<void>;
  newChat(): void;
  /** Last error of an action (rename, delete, stop ...), for a small banner. */
  notice?: string;
  clearNotice(): void;
}

const ChatContext = createContext<ChatContextValue | undefined>(undefined);

export function useChat(): ChatContextValue {
  const value = useContext(ChatContext);
  if (!value) throw new Error("useChat must be used inside <ChatProvider>");
  return value;
}

function activeIdFrom(pathname: string | null): string | undefined {
  const match = /^\/c\/([a-z0-9-]{1,50})(?:\/|$)/.exec(pathname ?? "");
  return match?.[1];
}

/** A run with no event for this long is checked against the store. */
const QUIET_RUN_MS = 20_000;
const STATUS_POLL_MS = 5_000;

export function ChatProvider({ user, children }: { user: SignedInUser; children: ReactNode }) {
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const stateRef = useRef(state);
  stateRef.current = state;
  const router = useRouter();
  const pathname = usePathname();
  const activeId = activeIdFrom(pathname);
  const activeRef = useRef(activeId);
  activeRef.current = activeId;
  const [connection, setConnection] = useState<Connection>("connecting");
  const [notFound, setNotFound] = useState<Record<string, boolean>>({});
  const [settings, setSettings] = useState<ChatSettings>();
  const [notice, setNotice] = useState<string>();
  const lastEventAt = useRef(Date.now());
  // Orders the copies of a conversation we receive (see ChatAction's asOf).
  const ticks = useRef(0);
  const tick = useCallback(() => ++ticks.current, []);

  const api: Api = useMemo(
    () =>
      createApi({
        token: () => getAccessToken(),
        onUnauthenticated: () => router.replace(signInPath(window.location.pathname)),
      }),
    [router],
  );

  const loadConversations = useCallback(async () => {
    const asOf = tick();
    const items: Conversation[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.call<Page<Conversation>>(
        `/api/conversations?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      items.push(...page.items);
      cursor = page.cursor;
    } while (cursor && items.length < 1000);
    dispatch({ type: "conversations", items, replace: true, asOf });
  }, [api, tick]);

  const loadStatus = useCallback(async () => {
    const s = await api.call<RuntimeStatus>("/api/runtime/status");
    dispatch({ type: "runtime", runtime: { state: s.state, stage: s.stage, since: s.since } });
  }, [api]);

  /** Full history the first time, then only what came after the newest message we have. */
  const syncConversation = useCallback(
    async (conversationId: string) => {
      const after = stateRef.current.historyLoaded[conversationId]
        ? lastMessageId(stateRef.current, conversationId)
        : undefined;
      const items: Message[] = [];
      let cursor: string | undefined;
      try {
        do {
          const q = new URLSearchParams({ limit: "200" });
          if (after) q.set("after", after);
          if (cursor) q.set("cursor", cursor);
          const page = await api.call<Page<Message>>(`/api/conversations/${conversationId}/messages?${q}`);
          items.push(...page.items);
          cursor = page.cursor;
        } while (cursor);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          setNotFound((n) => ({ ...n, [conversationId]: true }));
          return;
        }
        throw err;
      }
      dispatch({ type: "history", conversationId, items });
    },
    [api],
  );

  const catchUp = useCallback(async () => {
    const id = activeRef.current;
    await Promise.allSettled([loadConversations(), loadStatus(), id ? syncConversation(id) : undefined]);
  }, [loadConversations, loadStatus, syncConversation]);

  const onEvent = useCallback(
    (event: ChatEvent) => {
      lastEventAt.current = Date.now();
      dispatch({ type: "event", event });
      // A message in a conversation we do not know yet (another tab, Telegram): refresh the list.
      if (event.type === "message" && !stateRef.current.conversations[event.message.conversationId]) {
        void loadConversations().catch(() => undefined);
      }
    },
    [loadConversations],
  );

  // One subscription for the whole session; re-established with backoff when it breaks.
  useEffect(() => {
    let live = true;
    let sub: ChannelSubscription | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const connect = async () => {
      if (!live) return;
      setConnection(attempt === 0 ? "connecting" : "reconnecting");
      try {
        const s = await subscribeToChannel(`/chat/${user.sub}/*`, {
          onEvent: (e) => live && onEvent(e),
          onError: () => {
            if (!live) return;
            void s.close().catch(() => undefined);
            schedule();
          },
          onInvalid: (raw) => console.warn("ignored an event that is not a ChatEvent", raw),
        });
        sub = s;
        await s.ready;
        if (!live) return;
        attempt = 0;
        setConnection("live");
        // Anything published while we were not subscribed is in the store.
        void catchUp();
      } catch (err) {
        console.warn("realtime subscription failed", err);
        schedule();
      }
    };
    const schedule = () => {
      if (!live || retry) return;
      setConnection("reconnecting");
      const delay = Math.min(1000 * 2 ** attempt, 15_000);
      attempt++;
      retry = setTimeout(() => {
        retry = undefined;
        void connect();
      }, delay);
    };
    void connect();
    return () => {
      live = false;
      if (retry) clearTimeout(retry);
      void sub?.close().catch(() => undefined);
    };
  }, [user.sub, onEvent, catchUp]);

  // First load: list, status, settings; warm the runtime unless the user turned it off.
  useEffect(() => {
    void loadConversations().catch((err) => setNotice(errorMessage(err)));
    void loadStatus().catch(() => undefined);
    api
      .call<SettingsView>("/api/settings")
      .then((s) => {
        setSettings({ prewarm: s.prewarm, hasApiKey: s.hasApiKey });
        if (s.prewarm) {
          return api
            .call<RuntimeStatus>("/api/runtime/warm", { method: "POST" })
            .then((r) =>
              dispatch({ type: "runtime", runtime: { state: r.state, stage: r.stage, since: r.since } }),
            );
        }
      })
      .catch((err) => console.warn("settings or warm-up failed", errorMessage(err)));
  }, [api, loadConversations, loadStatus]);

  // Opening a conversation loads (or catches up) its history.
  useEffect(() => {
    if (activeId) void syncConversation(activeId).catch((err) => setNotice(errorMessage(err)));
  }, [activeId, syncConversation]);

  // Once the page has moved, the new-chat page no longer stands for the conversation it started.
  const routeShown = useRef(activeId);
  useEffect(() => {
    if (routeShown.current === activeId) return;
    routeShown.current = activeId;
    dispatch({ type: "navigated" });
  }, [activeId]);

  // Coming back to the tab or the network: catch up.
  useEffect(() => {
    const onVisible = () => document.visibilityState === "visible" && void catchUp();
    window.addEventListener("online", catchUp);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.removeEventListener("online", catchUp);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [catchUp]);

  // Safety nets that do not rely on events: poll the status while waking, and check the
  // store when a run has been quiet for a while (a missed final).
  const waking = state.runtime.state === "waking";
  const running = isRunActive(state, activeId);
  useEffect(() => {
    if (!waking && !running) return;
    const t = setInterval(() => {
      if (waking) void loadStatus().catch(() => undefined);
      const id = activeRef.current;
      if (running && id && Date.now() - lastEventAt.current > QUIET_RUN_MS) {
        lastEventAt.current = Date.now();
        void syncConversation(id).catch(() => undefined);
      }
    }, STATUS_POLL_MS);
    return () => clearInterval(t);
  }, [waking, running, loadStatus, syncConversation]);

  const post = useCallback(
    async (key: string, text: string, conversationId: string | undefined) => {
      const asOf = tick();
      try {
        const res = await api.call<SendMessageResult>("/api/chat", {
          method: "POST",
          body: { text, idempotencyKey: key, ...(conversationId ? { conversationId } : {}) },
        });
        if (res.conversation) dispatch({ type: "conversation.upsert", conversation: res.conversation, asOf });
        dispatch({
          type: "send.accepted",
          key,
          message: {
            id: res.messageId,
            conversationId: res.conversationId,
            role: "user",
            content: text.trim(),
            status: "complete",
            createdAt: new Date(api.serverNow()).toISOString(),
            source: "web",
          },
        });
        if (!conversationId) {
          dispatch({ type: "history", conversationId: res.conversationId, items: [] });
          // The new-chat page shows the conversation until it gets there; a user who went
          // elsewhere meanwhile stays where they are.
          if (activeRef.current === undefined) router.push(`/c/${res.conversationId}`);
          else dispatch({ type: "navigated" });
        }
        if (stateRef.current.runtime.state === "asleep") void loadStatus().catch(() => undefined);
      } catch (err) {
        dispatch({ type: "send.failed", key, error: errorMessage(err) });
      }
    },
    [api, router, loadStatus, tick],
  );

  const send = useCallback(
    async (text: string) => {
      // One key per message, reused by every retry of it: the server stores it once.
      const key = newId(api.serverNow());
      // On the new-chat page after its first message: the conversation that message started.
      const conversationId = shownConversation(stateRef.current, activeRef.current);
      dispatch({
        type: "send.start",
        message: { key, conversationId, text, status: "sending", createdAt: new Date().toISOString() },
      });
      await post(key, text, conversationId);
    },
    [api, post],
  );

  const retrySend = useCallback(
    async (key: string) => {
      const o = stateRef.current.outgoing.find((x) => x.key === key);
      if (!o) return;
      dispatch({ type: "send.discard", key });
      dispatch({ type: "send.start", message: { ...o, status: "sending", error: undefined } });
      await post(key, o.text, o.conversationId);
    },
    [post],
  );

  const retryRun = useCallback(
    async (conversationId: string, replyTo: string | undefined) => {
      if (!replyTo || !stateRef.current.messages[conversationId]?.[replyTo]) return;
      if (shownConversation(stateRef.current, activeRef.current) !== conversationId)
        router.push(`/c/${conversationId}`);
      // The failed reply goes at once; the server removes its stored copy and queues the
      // same message again, so the new reply streams under it.
      dispatch({ type: "retry.start", conversationId, replyTo });
      try {
        await api.call(`/api/conversations/${conversationId}/messages/${replyTo}/retry`, { method: "POST" });
        if (stateRef.current.runtime.state === "asleep") void loadStatus().catch(() => undefined);
      } catch (err) {
        dispatch({
          type: "retry.failed",
          conversationId,
          replyTo,
          error: `Could not retry: ${errorMessage(err)}`,
          at: new Date().toISOString(),
        });
        // A refusal (already answered, still finishing) is explained by what the store holds.
        void syncConversation(conversationId).catch(() => undefined);
      }
    },
    [api, router, loadStatus, syncConversation],
  );

  const stop = useCallback(async () => {
    const id = shownConversation(stateRef.current, activeRef.current);
    if (!id) return;
    try {
      await api.call(`/api/conversations/${id}/stop`, { method: "POST" });
      // The runtime answers with an aborted final; if that is lost, the store has it.
      setTimeout(() => void syncConversation(id).catch(() => undefined), 3000);
    } catch (err) {
      setNotice(`Could not stop: ${errorMessage(err)}`);
    }
  }, [api, syncConversation]);

  const rename = useCallback(
    async (conversationId: string, title: string) => {
      try {
        const res = await api.call<{ conversation: Conversation }>(`/api/conversations/${conversationId}`, {
          method: "PATCH",
          body: { title },
        });
        // Ticked on the answer: a list asked for before it may hold the old title.
        dispatch({ type: "conversation.upsert", conversation: res.conversation, asOf: tick() });
      } catch (err) {
        setNotice(`Could not rename: ${errorMessage(err)}`);
        throw err;
      }
    },
    [api, tick],
  );

  const remove = useCallback(
    async (conversationId: string) => {
      try {
        await api.call(`/api/conversations/${conversationId}`, { method: "DELETE" });
        dispatch({ type: "conversation.remove", conversationId, asOf: tick() });
        if (activeRef.current === conversationId) router.push("/");
      } catch (err) {
        setNotice(`Could not delete: ${errorMessage(err)}`);
      }
    },
    [api, router, tick],
  );

  const value: ChatContextValue = {
    user,
    state,
    activeId,
    connection,
    notFound,
    settings,
    clockOffsetMs: api.clockOffsetMs(),
    send,
    retrySend,
    discardSend: (key) => dispatch({ type: "send.discard", key }),
    retryRun,
    stop,
    rename,
    remove,
    newChat: () => {
      dispatch({ type: "navigated" });
      router.push("/");
    },
    notice,
    clearNotice: () => setNotice(undefined),
  };
  return <ChatContext.Provider value={value}>{children}</ChatContext.Provider>;
}

export type { RunError };
