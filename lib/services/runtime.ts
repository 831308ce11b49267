import type { Adapters } from "../adapters";
import { needsTaskCheck, type RuntimeState, runtimeStateOf } from "../contracts";
import { type EnsureRuntimePorts, ensureRuntime } from "./ensure-runtime";

export interface RuntimeStatus {
  state: RuntimeState;
  /** Start-up stage while waking (restoring, starting_openclaw, warming ...). */
  stage?: string;
  /** When the current start (waking) or run began, for the elapsed-seconds display. */
  since?: string;
  /** Messages waiting or running. */
  pending: number;
  idleTimeoutMinutes: number;
}

/**
 * The runtime's state for the UI, from the task-state row (read by the lease's rule), the
 * launcher (is the row's task still there?) and the queue. A runtime that died shows as
 * asleep at once, and the next message or warm-up starts a new one.
 */
export async function getRuntimeStatus(
  ports: Pick<Adapters, "taskStates" | "queue" | "launcher">,
  userId: string,
): Promise<RuntimeStatus> {
  const [row, queued] = await Promise.all([ports.taskStates.get(userId), ports.queue.list(userId)]);
  const now = Date.now();
  const taskAlive =
    row.taskRef && needsTaskCheck(row, now)
      ? await ports.launcher.isAlive(row.taskRef).catch(() => undefined)
      : undefined;
  const running = queued.filter((i) => i.claimedBy && i.leaseUntil && Date.parse(i.leaseUntil) > now);
  const state = runtimeStateOf(row, now, running.length > 0, taskAlive);
  const base = { state, pending: queued.length, idleTimeoutMinutes: row.idleTimeoutMinutes };
  if (state === "waking")
    return {
      ...base,
      ...(row.stage ? { stage: row.stage } : {}),
      ...(row.startedAt ? { since: row.startedAt } : {}),
    };
  const since = running[0]?.enqueuedAt;
  if (state === "busy" && since) return { ...base, since };
  return base;
}

/** Starts the runtime ahead of the first message (the chat page asks when it opens). */
export async function warmRuntime(
  ports: EnsureRuntimePorts & Pick<Adapters, "queue">,
  userId: string,
): Promise<RuntimeStatus> {
  await ensureRuntime(ports, userId);
  return getRuntimeStatus(ports, userId);
}
