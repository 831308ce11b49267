"use client";

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { LIMITS } from "@/lib/contracts";

/**
 * The message box. Enter sends, Shift+Enter adds a line (and Enter while an IME is
 * composing does neither). Sending stays possible during a run or a wake-up: messages
 * queue and are answered in order. The stop button shows while a run is active.
 */
export function Composer({
  onSend,
  onStop,
  running,
  disabled,
  autoFocusKey,
}: {
  onSend: (text: string) => void;
  onStop: () => void;
  running: boolean;
  disabled?: boolean;
  /** Refocuses the box when it changes (e.g. the conversation id). */
  autoFocusKey?: string;
}) {
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refocus on conversation change only
  useEffect(() => {
    ref.current?.focus();
  }, [autoFocusKey]);

  // Grows with its content up to 240 px, then scrolls.
  function resize() {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }

  const tooLong = text.length > LIMITS.messageChars;
  const canSend = !disabled && text.trim().length > 0 && !tooLong;

  function submit(e?: FormEvent) {
    e?.preventDefault();
    if (!canSend) return;
    onSend(text);
    setText("");
    requestAnimationFrame(resize);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  return (
    <form
      onSubmit={submit}
      className="mx-auto w-full max-w-3xl px-3 pb-3 sm:px-4 sm:pb-4"
      aria-label="Send a message"
    >
      <div className="flex items-end gap-2 rounded-2xl border border-zinc-300 bg-white p-2 shadow-sm focus-within:border-zinc-500 dark:border-zinc-700 dark:bg-zinc-900 dark:focus-within:border-zinc-500">
        <label htmlFor="composer-input" className="sr-only">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={ref}
          data-testid="composer-input"
          rows={1}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            resize();
          }}
          onKeyDown={onKeyDown}
          placeholder="Message your agent…"
          aria-describedby="composer-hint"
          aria-invalid={tooLong || undefined}
          className="max-h-60 min-h-10 flex-1 resize-none bg-transparent px-2 py-2 text-[15px] outline-none placeholder:text-zinc-400"
        />
        {running ? (
          <button
            type="button"
            onClick={onStop}
            data-testid="stop-button"
            aria-label="Stop the reply"
            title="Stop"
            className="flex size-10 shrink-0 items-center justify-center rounded-xl border border-zinc-300 text-zinc-700 hover:bg-zinc-100 dark:border-zinc-600 dark:text-zinc-200 dark:hover:bg-zinc-800"
          >
            <span aria-hidden className="size-3 rounded-sm bg-current" />
          </button>
        ) : null}
        <button
          type="submit"
          disabled={!canSend}
          data-testid="send-button"
          aria-label="Send"
          title="Send (Enter)"
          className="flex size-10 shrink-0 items-center justify-center rounded-xl bg-zinc-900 text-white disabled:cursor-not-allowed disabled:opacity-30 dark:bg-zinc-100 dark:text-zinc-900"
        >
          <svg
            aria-hidden
            viewBox="0 0 24 24"
            className="size-5"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
          >
            <path d="M12 19V5M5 12l7-7 7 7" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </button>
      </div>
      <p id="composer-hint" className="mt-1 px-2 text-xs text-zinc-400">
        {tooLong ? (
          <span className="text-red-600" role="alert">
            {text.length.toLocaleString()} / {LIMITS.messageChars.toLocaleString()} characters: too long to
            send
          </span>
        ) : (
          <span className="hidden sm:inline">Enter to send · Shift+Enter for a new line</span>
        )}
      </p>
    </form>
  );
}
