import type { ToolActivity } from "@/lib/contracts";

const ICON: Record<ToolActivity["status"], string> = { running: "…", done: "✓", error: "✕" };

/** A tool call as one compact line that expands to its summary. */
export function ToolActivityItem({ tool }: { tool: ToolActivity }) {
  return (
    <details
      data-testid="tool-activity"
      data-status={tool.status}
      className="group my-1 rounded-md border border-zinc-200 bg-zinc-50 text-xs dark:border-zinc-700 dark:bg-zinc-900"
    >
      <summary className="flex cursor-pointer list-none items-center gap-2 px-2 py-1 text-zinc-600 select-none dark:text-zinc-300">
        <span
          aria-hidden
          className={
            tool.status === "error"
              ? "text-red-600"
              : tool.status === "done"
                ? "text-emerald-600"
                : "animate-pulse text-sky-600"
          }
        >
          {ICON[tool.status]}
        </span>
        <span className="font-mono">{tool.name}</span>
        <span className="sr-only">{tool.status}</span>
        {tool.summary ? (
          <span aria-hidden className="ml-auto text-zinc-400 group-open:rotate-90">
            ›
          </span>
        ) : null}
      </summary>
      {tool.summary ? (
        <pre className="max-h-60 overflow-auto border-t border-zinc-200 px-2 py-1 whitespace-pre-wrap text-zinc-600 dark:border-zinc-700 dark:text-zinc-300">
          {tool.summary}
        </pre>
      ) : null}
    </details>
  );
}
