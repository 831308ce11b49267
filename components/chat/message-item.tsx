"use client";

import type { Message } from "@/lib/contracts";
import type { OutgoingMessage, RunError, RunView } from "./chat-state";
import { CopyButton } from "./copy-button";
import { Markdown } from "./markdown";
import { ToolActivityItem } from "./tool-activity";

const PHASES: Record<string, string> = {
  preparing_workspace: "Preparing the workspace",
  preparing_context: "Reading the conversation",
  starting_model: "Asking the model",
};

export function UserMessage({ message }: { message: Message | OutgoingMessage }) {
  const outgoing = "key" in message ? message : undefined;
  const text = "content" in message ? message.content : message.text;
  return (
    <div
      data-testid="message-user"
      data-message-id={"id" in message ? message.id : undefined}
      data-sending={outgoing?.status === "sending" ? "true" : undefined}
      className="flex justify-end"
    >
      <div className="max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 whitespace-pre-wrap break-words dark:bg-zinc-800">
        <span data-testid="message-content">{text}</span>
        {"source" in message && message.source === "telegram" ? (
          <span className="ml-2 text-xs text-zinc-400">via Telegram</span>
        ) : null}
      </div>
    </div>
  );
}

export function FailedSend({
  outgoing,
  onRetry,
  onDiscard,
}: {
  outgoing: OutgoingMessage;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  return (
    <div className="flex flex-col items-end gap-1" data-testid="send-failed">
      <UserMessage message={outgoing} />
      <div role="alert" className="flex items-center gap-2 text-xs text-red-600 dark:text-red-400">
        <span>Not sent: {outgoing.error}</span>
        <button type="button" className="underline" onClick={onRetry} data-testid="retry-send">
          Try again
        </button>
        <button type="button" className="underline" onClick={onDiscard}>
          Discard
        </button>
      </div>
    </div>
  );
}

function AssistantFrame({
  children,
  testId,
  messageId,
  runId,
  status,
}: {
  children: React.ReactNode;
  testId: string;
  messageId?: string;
  runId?: string;
  status?: string;
}) {
  return (
    <div
      data-testid={testId}
      data-message-id={messageId}
      data-run-id={runId}
      data-status={status}
      className="group flex gap-3"
    >
      <div
        aria-hidden
        className="mt-1 flex size-7 shrink-0 items-center justify-center rounded-full bg-zinc-900 text-xs font-semibold text-white dark:bg-zinc-100 dark:text-zinc-900"
      >
        OC
      </div>
      <div className="min-w-0 flex-1">{children}</div>
    </div>
  );
}

export function AssistantMessage({ message, onRetry }: { message: Message; onRetry?: () => void }) {
  const failed = message.status !== "complete";
  return (
    <AssistantFrame testId="message-assistant" messageId={message.id} status={message.status}>
      {message.tools?.map((t) => (
        <ToolActivityItem key={t.toolCallId} tool={t} />
      ))}
      {message.content ? (
        <div data-testid="message-content">
          <Markdown text={message.content} />
        </div>
      ) : null}
      {failed ? (
        <ErrorNotice
          code={message.error?.code ?? message.status}
          message={message.error?.message ?? (message.status === "aborted" ? "Stopped." : "The run failed.")}
          onRetry={message.status === "error" ? onRetry : undefined}
        />
      ) : (
        <div className="mt-1 flex gap-1 opacity-60 transition group-hover:opacity-100">
          <CopyButton text={message.content} label="Copy reply" testId="copy-message" />
        </div>
      )}
    </AssistantFrame>
  );
}

export function StreamingReply({ run }: { run: RunView }) {
  return (
    <AssistantFrame testId="message-streaming" runId={run.runId} status="streaming">
      {run.tools.map((t) => (
        <ToolActivityItem key={t.toolCallId} tool={t} />
      ))}
      {run.text ? (
        <div data-testid="message-content" aria-live="off">
          <Markdown text={run.text} />
        </div>
      ) : (
        <ThinkingDots label={run.phase ? (PHASES[run.phase] ?? run.phase.replace(/_/g, " ")) : "Thinking"} />
      )}
    </AssistantFrame>
  );
}

/** Shown while our message waits for the agent (queued, or the agent is waking up). */
export function WaitingReply({ label }: { label: string }) {
  return (
    <AssistantFrame testId="message-waiting">
      <ThinkingDots label={label} />
    </AssistantFrame>
  );
}

function ThinkingDots({ label }: { label: string }) {
  return (
    <div className="flex items-center gap-2 py-1 text-sm text-zinc-500 dark:text-zinc-400">
      <span aria-hidden className="flex gap-1">
        <span className="size-1.5 animate-bounce rounded-full bg-current [animation-delay:-0.3s]" />
        <span className="size-1.5 animate-bounce rounded-full bg-current [animation-delay:-0.15s]" />
        <span className="size-1.5 animate-bounce rounded-full bg-current" />
      </span>
      <span>{label}…</span>
    </div>
  );
}

export function RunErrorItem({ error, onRetry }: { error: RunError; onRetry?: () => void }) {
  return (
    <AssistantFrame testId="message-error" status="error">
      <ErrorNotice code={error.code} message={error.message} onRetry={onRetry} />
    </AssistantFrame>
  );
}

function ErrorNotice({ code, message, onRetry }: { code: string; message: string; onRetry?: () => void }) {
  const stopped = code === "aborted";
  return (
    <div
      role={stopped ? undefined : "alert"}
      data-testid={stopped ? "run-stopped" : "run-error"}
      data-code={code}
      className={`mt-1 flex flex-wrap items-center gap-2 rounded-md border px-3 py-2 text-sm ${
        stopped
          ? "border-zinc-200 text-zinc-500 dark:border-zinc-700 dark:text-zinc-400"
          : "border-red-200 bg-red-50 text-red-700 dark:border-red-900 dark:bg-red-950 dark:text-red-300"
      }`}
    >
      <span>{message}</span>
      {onRetry ? (
        <button
          type="button"
          data-testid="retry-run"
          onClick={onRetry}
          className="rounded border border-current px-2 py-0.5 text-xs font-medium hover:bg-red-100 dark:hover:bg-red-900"
        >
          Retry
        </button>
      ) : null}
    </div>
  );
}
