import type { RuntimeState } from "../contracts";
import type { ServicePorts } from "./deps";

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

/** A Running row whose heartbeat is older than this belongs to a runtime that died. */
const STALE_HEARTBEAT_MS = 3 * 60 * 1000;

/** The runtime's state for the UI, from the task-state row and the queue. */
export async function getRuntimeStatus(
  ports: Pick<ServicePorts, "taskStates" | "queue">,
  userId: string,
): Promise<RuntimeStatus> {
  const [row, queued] = await Promise.all([ports.taskStates.get(userId), ports.queue.list(userId)]);
  const now = Date.now();
  const running = queued.filter((i) => i.claimedBy && i.leaseUntil && Date.parse(i.leaseUntil) > now);
  const base = { pending: queued.length, idleTimeoutMinutes: row.idleTimeoutMinutes };
  switch (row.status) {
    case "Idle":
      return { state: "asleep", ...base };
    case "Starting":
      return {
        state: "waking",
        ...base,
        ...(row.stage ? { stage: row.stage } : {}),
        ...(row.startedAt ? { since: row.startedAt } : {}),
      };
    case "Stopping":
      return { state: "stopping", ...base };
    case "Running": {
      const beat = row.heartbeatAt ?? row.lastActivityAt ?? row.startedAt;
      if (beat && now - Date.parse(beat) > STALE_HEARTBEAT_MS) return { state: "asleep", ...base };
      const since = running[0]?.enqueuedAt;
      return running.length > 0
        ? { state: "busy", ...base, ...(since ? { since } : {}) }
        : { state: "ready", ...base };
    }
  }
}

/** Starts the runtime ahead of the first message (the chat page asks when it opens). */
export async function warmRuntime(
  ports: Pick<ServicePorts, "taskStates" | "queue" | "ensureRuntime">,
  userId: string,
): Promise<RuntimeStatus> {
  await ports.ensureRuntime(userId);
  return getRuntimeStatus(ports, userId);
}
