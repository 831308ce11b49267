"use client";

import Link from "next/link";
import { useEffect, useLayoutEffect, useRef } from "react";
import { conversationItems, isRunActive, shownConversation } from "./chat-state";
import { Composer } from "./composer";
import {
  AssistantMessage,
  FailedSend,
  RunErrorItem,
  StreamingReply,
  UserMessage,
  WaitingReply,
} from "./message-item";
import { useChat } from "./use-chat";

/** Stays pinned to the bottom while the user is there; leaves them alone when they scroll up. */
function useStickToBottom(dep: unknown) {
  const ref = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onScroll = () => {
      pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-run on every content change
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [dep]);
  return ref;
}

function EmptyState({ hasApiKey }: { hasApiKey?: boolean }) {
  return (
    <div className="mx-auto flex max-w-md flex-1 flex-col items-center justify-center gap-3 p-6 text-center">
      <h2 className="text-2xl font-semibold">What can I do for you?</h2>
      <p className="text-sm text-zinc-500">
        Your agent sleeps while you are away and wakes up when you write. You can type right away.
      </p>
      {hasApiKey === false ? (
        <p className="text-sm text-amber-700 dark:text-amber-400" data-testid="no-api-key">
          No API key is set for your model provider yet.{" "}
          <Link className="underline" href="/settings">
            Add one in Settings
          </Link>
          .
        </p>
      ) : null}
    </div>
  );
}

/** One conversation (or a new one when `id` is undefined): messages, live reply, composer. */
export function ConversationView({ id: routeId }: { id?: string }) {
  const chat = useChat();
  const { state } = chat;
  // The new-chat page shows the conversation its first message started until it gets there.
  const id = shownConversation(state, routeId);
  const items = conversationItems(state, id);
  const running = isRunActive(state, id);
  const lastRun = items.at(-1);
  const scrollRef = useStickToBottom(items);

  if (id && chat.notFound[id]) {
    return (
      <div data-testid="not-found" className="mx-auto max-w-md p-8 text-center">
        <h2 className="text-lg font-semibold">Conversation not found</h2>
        <p className="mt-2 text-sm text-zinc-500">It may have been deleted, or it is not yours.</p>
        <Link href="/" className="mt-4 inline-block text-sm underline">
          Start a new chat
        </Link>
      </div>
    );
  }

  // Our message was accepted but nothing answers it yet: queued, or the agent is waking.
  const waitingLabel =
    running && (lastRun?.kind === "message" || lastRun?.kind === "outgoing")
      ? state.runtime.state === "waking"
        ? "Waking up the agent"
        : state.runtime.state === "asleep"
          ? "Starting the agent"
          : "Thinking"
      : undefined;

  const loading = id !== undefined && !state.historyLoaded[id];

  return (
    <>
      <div ref={scrollRef} className="min-h-0 flex-1 overflow-y-auto" data-testid="message-list">
        {items.length === 0 && !loading ? (
          <div className="flex h-full flex-col">
            <EmptyState hasApiKey={chat.settings?.hasApiKey} />
          </div>
        ) : (
          <div className="mx-auto flex max-w-3xl flex-col gap-5 px-3 py-6 sm:px-4" aria-busy={loading}>
            {items.map((item) => {
              switch (item.kind) {
                case "message":
                  return item.message.role === "user" ? (
                    <UserMessage key={item.message.id} message={item.message} />
                  ) : (
                    <AssistantMessage
                      key={item.message.id}
                      message={item.message}
                      onRetry={() => chat.retryRun(item.message.conversationId, item.message.replyTo)}
                    />
                  );
                case "run":
                  return <StreamingReply key={item.run.runId} run={item.run} />;
                case "error":
                  return (
                    <RunErrorItem
                      key={`${item.error.replyTo ?? "run"}-${item.error.at}`}
                      error={item.error}
                      onRetry={
                        item.error.replyTo
                          ? () => chat.retryRun(item.error.conversationId, item.error.replyTo)
                          : undefined
                      }
                    />
                  );
                case "outgoing":
                  return item.outgoing.status === "failed" ? (
                    <FailedSend
                      key={item.outgoing.key}
                      outgoing={item.outgoing}
                      onRetry={() => chat.retrySend(item.outgoing.key)}
                      onDiscard={() => chat.discardSend(item.outgoing.key)}
                    />
                  ) : (
                    <UserMessage key={item.outgoing.key} message={item.outgoing} />
                  );
              }
              return null;
            })}
            {waitingLabel ? <WaitingReply label={waitingLabel} /> : null}
          </div>
        )}
      </div>
      <Composer
        onSend={chat.send}
        onStop={chat.stop}
        running={running && id !== undefined}
        autoFocusKey={id ?? "new"}
      />
    </>
  );
}
