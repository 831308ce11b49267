"use client";

import Link from "next/link";
import { useRef, useState } from "react";
import type { Conversation } from "@/lib/contracts";

function ConversationRow({
  conversation,
  active,
  onRename,
  onDelete,
  onNavigate,
}: {
  conversation: Conversation;
  active: boolean;
  onRename: (title: string) => Promise<void>;
  onDelete: () => Promise<void>;
  onNavigate: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const [busy, setBusy] = useState(false);
  // Removing the field fires its blur: Enter or Escape has already decided by then.
  const decided = useRef(false);

  function startEditing() {
    decided.current = false;
    setEditing(true);
  }

  async function save() {
    if (decided.current) return;
    decided.current = true;
    const next = title.trim();
    setEditing(false);
    if (!next || next === conversation.title) {
      setTitle(conversation.title);
      return;
    }
    setBusy(true);
    try {
      await onRename(next);
    } catch {
      setTitle(conversation.title);
    } finally {
      setBusy(false);
    }
  }

  if (editing) {
    return (
      <li className="px-2 py-1">
        <label className="sr-only" htmlFor={`rename-${conversation.id}`}>
          New title
        </label>
        <input
          id={`rename-${conversation.id}`}
          data-testid="rename-input"
          // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this field
          autoFocus
          value={title}
          maxLength={120}
          onChange={(e) => setTitle(e.target.value)}
          onBlur={save}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              void save();
            }
            if (e.key === "Escape") {
              decided.current = true;
              setTitle(conversation.title);
              setEditing(false);
            }
          }}
          className="w-full rounded-md border border-zinc-400 bg-white px-2 py-1 text-sm dark:bg-zinc-900"
        />
      </li>
    );
  }

  return (
    <li
      data-testid="conversation-item"
      data-conversation-id={conversation.id}
      aria-current={active ? "page" : undefined}
      className={`group flex items-center rounded-lg ${
        active ? "bg-zinc-200 dark:bg-zinc-800" : "hover:bg-zinc-100 dark:hover:bg-zinc-800/60"
      } ${busy ? "opacity-50" : ""}`}
    >
      <Link
        href={`/c/${conversation.id}`}
        onClick={onNavigate}
        className="min-w-0 flex-1 truncate px-3 py-2 text-sm"
        title={conversation.title}
      >
        {conversation.title}
      </Link>
      <div className="flex shrink-0 pr-1 opacity-100 sm:opacity-0 sm:group-focus-within:opacity-100 sm:group-hover:opacity-100">
        <button
          type="button"
          data-testid="rename-conversation"
          aria-label={`Rename "${conversation.title}"`}
          title="Rename"
          onClick={startEditing}
          className="rounded p-1 text-zinc-500 hover:bg-zinc-300 hover:text-zinc-900 dark:hover:bg-zinc-700 dark:hover:text-zinc-100"
        >
          <svg aria-hidden viewBox="0 0 20 20" className="size-4" fill="currentColor">
            <path d="M13.6 3.6a2 2 0 0 1 2.8 2.8l-8.5 8.5-3.6.8.8-3.6 8.5-8.5Z" />
          </svg>
        </button>
        <button
          type="button"
          data-testid="delete-conversation"
          aria-label={`Delete "${conversation.title}"`}
          title="Delete"
          onClick={async () => {
            if (!window.confirm(`Delete "${conversation.title}"? This removes all its messages.`)) return;
            setBusy(true);
            try {
              await onDelete();
            } finally {
              setBusy(false);
            }
          }}
          className="rounded p-1 text-zinc-500 hover:bg-zinc-300 hover:text-red-700 dark:hover:bg-zinc-700 dark:hover:text-red-400"
        >
          <svg aria-hidden viewBox="0 0 20 20" className="size-4" fill="currentColor">
            <path d="M8 2h4a1 1 0 0 1 1 1v1h4v2H3V4h4V3a1 1 0 0 1 1-1Zm-3 6h10l-.8 9.1a1 1 0 0 1-1 .9H6.8a1 1 0 0 1-1-.9L5 8Z" />
          </svg>
        </button>
      </div>
    </li>
  );
}

/** Conversations newest first, a "new chat" action, and rename and delete on each. */
export function Sidebar({
  conversations,
  loaded,
  activeId,
  onNewChat,
  onRename,
  onDelete,
  onNavigate,
  footer,
}: {
  conversations: Conversation[];
  loaded: boolean;
  activeId?: string;
  onNewChat: () => void;
  onRename: (id: string, title: string) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
  onNavigate: () => void;
  footer?: React.ReactNode;
}) {
  return (
    <nav aria-label="Conversations" className="flex h-full flex-col">
      <div className="p-2">
        <button
          type="button"
          data-testid="new-chat"
          onClick={onNewChat}
          className="flex w-full items-center gap-2 rounded-lg border border-zinc-300 px-3 py-2 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          <span aria-hidden className="text-lg leading-none">
            +
          </span>
          New chat
        </button>
      </div>
      <ul data-testid="conversation-list" className="flex-1 space-y-0.5 overflow-y-auto px-2 pb-2">
        {loaded && conversations.length === 0 ? (
          <li className="px-3 py-2 text-sm text-zinc-500">No conversations yet.</li>
        ) : null}
        {conversations.map((c) => (
          <ConversationRow
            key={c.id}
            conversation={c}
            active={c.id === activeId}
            onRename={(title) => onRename(c.id, title)}
            onDelete={() => onDelete(c.id)}
            onNavigate={onNavigate}
          />
        ))}
      </ul>
      {footer ? <div className="border-t border-zinc-200 p-2 dark:border-zinc-800">{footer}</div> : null}
    </nav>
  );
}
