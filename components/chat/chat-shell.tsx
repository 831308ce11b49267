"use client";

import Link from "next/link";
import { type ReactNode, useEffect, useState } from "react";
import { RequireSession, SignOutButton } from "@/components/auth/session";
import { ThemeToggle } from "@/components/theme-toggle";
import { AgentStatus } from "./agent-status";
import { shownConversation, sortedConversations } from "./chat-state";
import { Sidebar } from "./sidebar";
import { ChatProvider, useChat } from "./use-chat";

/** The signed-in chat: session check, controller, and the frame around the open conversation. */
export function ChatApp({ children }: { children: ReactNode }) {
  return (
    <RequireSession>
      {(user) => (
        <ChatProvider user={user}>
          <ChatFrame>{children}</ChatFrame>
        </ChatProvider>
      )}
    </RequireSession>
  );
}

function ChatFrame({ children }: { children: ReactNode }) {
  const chat = useChat();
  const [drawer, setDrawer] = useState(false);
  const conversations = sortedConversations(chat.state);
  // The new-chat page already shows the conversation its first message started.
  const shownId = shownConversation(chat.state, chat.activeId);
  const title = shownId ? chat.state.conversations[shownId]?.title : undefined;

  // Close the phone drawer on Escape.
  useEffect(() => {
    if (!drawer) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setDrawer(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [drawer]);

  const sidebar = (
    <Sidebar
      conversations={conversations}
      loaded={chat.state.conversationsLoaded}
      activeId={shownId}
      onNewChat={() => {
        setDrawer(false);
        chat.newChat();
      }}
      onRename={chat.rename}
      onDelete={chat.remove}
      onNavigate={() => setDrawer(false)}
      footer={
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <span
            className="min-w-0 flex-1 truncate text-zinc-500"
            data-testid="signed-in-as"
            title={chat.user.email}
          >
            {chat.user.email ?? "Signed in"}
          </span>
          <Link
            href="/settings"
            data-testid="settings-link"
            className="rounded-md px-2 py-1.5 hover:bg-zinc-100 dark:hover:bg-zinc-800"
          >
            Settings
          </Link>
          <SignOutButton className="rounded-md px-2 py-1.5 hover:bg-zinc-100 dark:hover:bg-zinc-800" />
        </div>
      }
    />
  );

  return (
    <div className="flex h-dvh overflow-hidden">
      <aside
        data-testid="sidebar"
        className="hidden w-64 shrink-0 border-r border-zinc-200 bg-zinc-50 md:block dark:border-zinc-800 dark:bg-zinc-900"
      >
        {sidebar}
      </aside>
      {drawer ? (
        <div
          className="fixed inset-0 z-40 md:hidden"
          role="dialog"
          aria-modal="true"
          aria-label="Conversations"
          data-testid="sidebar-drawer"
        >
          <button
            type="button"
            aria-label="Close the conversation list"
            className="absolute inset-0 bg-black/40"
            onClick={() => setDrawer(false)}
          />
          <div className="absolute inset-y-0 left-0 w-72 max-w-[85%] bg-zinc-50 shadow-xl dark:bg-zinc-900">
            {sidebar}
          </div>
        </div>
      ) : null}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
          <button
            type="button"
            className="rounded-md p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800"
            aria-label="Open the conversation list"
            data-testid="open-sidebar"
            onClick={() => setDrawer(true)}
          >
            <svg aria-hidden viewBox="0 0 20 20" className="size-5" fill="currentColor">
              <path d="M3 5h14v2H3zM3 9h14v2H3zM3 13h14v2H3z" />
            </svg>
          </button>
          <h1 className="min-w-0 flex-1 truncate text-sm font-medium" data-testid="conversation-title">
            {title ?? "New chat"}
          </h1>
          {chat.connection !== "live" ? (
            <span className="text-xs text-amber-600" data-testid="connection" role="status">
              {chat.connection === "connecting" ? "Connecting…" : "Reconnecting…"}
            </span>
          ) : null}
          <AgentStatus runtime={chat.state.runtime} clockOffsetMs={chat.clockOffsetMs} />
          <ThemeToggle />
        </header>
        {chat.notice ? (
          <div
            role="alert"
            className="flex items-center gap-2 bg-amber-50 px-4 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200"
          >
            <span className="flex-1">{chat.notice}</span>
            <button type="button" className="underline" onClick={chat.clearNotice}>
              Dismiss
            </button>
          </div>
        ) : null}
        <main className="flex min-h-0 flex-1 flex-col">{children}</main>
      </div>
    </div>
  );
}
