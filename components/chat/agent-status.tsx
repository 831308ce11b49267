"use client";

import { useEffect, useState } from "react";
import type { RuntimeView } from "./chat-state";

/** The runtime's start-up stages (launcher, runner, engine), in the words the user sees. */
const STAGES: Record<string, string> = {
  launching: "starting the container",
  provisioning: "starting the container",
  pending: "starting the container",
  restoring: "restoring memory",
  "config-written": "starting OpenClaw",
  "worker-ready": "starting OpenClaw",
  spawned: "starting OpenClaw",
  starting_openclaw: "starting OpenClaw",
  warming: "warming up",
  ready: "almost ready",
};

/** A start-up stage id as words (`spawned` → "starting OpenClaw", `openclaw-import` → "loading OpenClaw"). */
export function stageLabel(stage: string | undefined): string | undefined {
  if (!stage) return undefined;
  if (STAGES[stage]) return STAGES[stage];
  if (stage.startsWith("openclaw-")) return "loading OpenClaw";
  return stage.replace(/[_-]+/g, " ");
}

function useElapsedSeconds(since: string | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!since) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [since]);
  if (!since) return undefined;
  return Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
}

const STYLE: Record<RuntimeView["state"], { dot: string; label: string }> = {
  asleep: { dot: "bg-zinc-400", label: "Asleep" },
  waking: { dot: "bg-amber-500 animate-pulse", label: "Waking up" },
  ready: { dot: "bg-emerald-500", label: "Ready" },
  busy: { dot: "bg-sky-500 animate-pulse", label: "Working" },
  stopping: { dot: "bg-zinc-400", label: "Going to sleep" },
};

/**
 * The agent's state, always visible: asleep, waking up (stage and elapsed seconds),
 * ready, working. `role="status"` makes screen readers announce changes politely.
 */
export function AgentStatus({
  runtime,
  clockOffsetMs = 0,
}: {
  runtime: RuntimeView;
  clockOffsetMs?: number;
}) {
  const since =
    runtime.state === "waking" && runtime.since
      ? new Date(Date.parse(runtime.since) - clockOffsetMs).toISOString()
      : undefined;
  const elapsed = useElapsedSeconds(since);
  const style = STYLE[runtime.state];
  const stage = runtime.state === "waking" ? stageLabel(runtime.stage) : undefined;
  return (
    <div
      role="status"
      aria-live="polite"
      data-testid="agent-status"
      data-state={runtime.state}
      className="flex min-w-0 items-center gap-2 rounded-full border border-zinc-200 px-3 py-1 text-xs text-zinc-600 dark:border-zinc-700 dark:text-zinc-300"
    >
      <span aria-hidden className={`size-2 shrink-0 rounded-full ${style.dot}`} />
      <span className="truncate">
        <span className="font-medium text-zinc-800 dark:text-zinc-100">{style.label}</span>
        {stage ? <span data-testid="agent-stage"> · {stage}</span> : null}
        {elapsed !== undefined ? <span data-testid="agent-elapsed"> · {elapsed} s</span> : null}
      </span>
    </div>
  );
}
