import type { Adapters } from "../adapters";
import {
  agentChannel,
  decideEnsure,
  LEASE,
  type LeaseTimings,
  needsTaskCheck,
  nowIso,
  statusChannel,
  type TaskState,
} from "../contracts";
import { AppError, errorMessage } from "../errors";
import type { EventPublisher } from "../ports";

export type EnsureRuntimePorts = Pick<Adapters, "taskStates" | "launcher" | "publisher" | "settingsStore">;

export interface EnsureRuntimeOptions {
  /** Where failures that do not affect the caller go (a wake publish that failed ...). */
  warn?: (msg: string) => void;
  /** The lease's thresholds (tests shorten them). */
  lease?: Partial<LeaseTimings>;
  /** How often to read the row again while a runtime is stopping. */
  pollMs?: number;
}

/**
 * Makes sure the user's runtime is running or starting, and wakes it. At most one runtime
 * per user: starting one is a compareAndSet of the task-state row from what was read to
 * Starting, so of two concurrent callers exactly one launches. What the row means (dead,
 * stopping, on its way) is the task lease's rule (lib/contracts/task-lease.ts). Publishes a
 * `waking` status when it starts a runtime, and a `wake` on `/agent/<sub>` in every case.
 * Returns the row as it stands afterwards.
 *
 * The wake-up goes out first: a warm runtime (the common case) drains its queue while the
 * row is checked. A wake that reaches no runtime is harmless; a launched one is woken again.
 */
export async function ensureRuntime(
  ports: EnsureRuntimePorts,
  userId: string,
  opts: EnsureRuntimeOptions = {},
): Promise<TaskState> {
  const lease = { ...LEASE, ...opts.lease };
  const warn = opts.warn ?? ((msg: string) => console.warn(`[ensureRuntime] ${msg}`));
  const waitUntil = Date.now() + lease.stoppingWaitMs;
  const firstWake = wake(ports.publisher, userId, warn);
  // Asked again on every read: a stopping runtime that exits without marking its row Idle
  // (killed mid-shutdown) is then replaced at once instead of after its heartbeat ages.
  const taskAlive = (row: TaskState) =>
    row.taskRef && needsTaskCheck(row, Date.now(), lease)
      ? isAlive(ports, row.taskRef, warn)
      : Promise.resolve(undefined);
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      const row = await ports.taskStates.get(userId);
      const decision = decideEnsure(row, Date.now(), waitUntil, await taskAlive(row), lease);
      if (decision === "wait") {
        await sleep(opts.pollMs ?? 500);
        continue;
      }
      if (decision === "reuse") return row;
      const started = await launch(ports, row, warn);
      if (!started) continue; // another caller changed the row first: look again
      await wake(ports.publisher, userId, warn);
      return started;
    }
    throw new AppError("unavailable", "The agent's state kept changing; try again in a moment.");
  } finally {
    await firstWake;
  }
}

async function isAlive(ports: EnsureRuntimePorts, taskRef: string, warn: (msg: string) => void) {
  try {
    return await ports.launcher.isAlive(taskRef);
  } catch (err) {
    // A throttled or failing status call must not start a second runtime.
    warn(`could not check the runtime task: ${errorMessage(err)}`);
    return true;
  }
}

/** Takes the row to Starting (from exactly what was read), launches, records the task. */
async function launch(
  ports: EnsureRuntimePorts,
  row: TaskState,
  warn: (msg: string) => void,
): Promise<TaskState | undefined> {
  const settings = await ports.settingsStore.getSettings(row.userId);
  const now = nowIso();
  const starting = await ports.taskStates.compareAndSet(
    row.userId,
    row.version,
    {
      status: "Starting",
      startedAt: now,
      heartbeatAt: now,
      stage: "launching",
      idleTimeoutMinutes: settings.idleTimeoutMinutes,
      ...(row.lastActivityAt ? { lastActivityAt: row.lastActivityAt } : {}),
    },
    [row.status],
  );
  if (!starting) return undefined;

  if (row.status !== "Idle" && row.taskRef) {
    // Recovering a dead runtime's row: make sure its task is really gone.
    await ports.launcher
      .stop(row.taskRef, "replaced: heartbeat stale or task gone")
      .catch((err) => warn(`could not stop the replaced runtime: ${errorMessage(err)}`));
  }
  await publishSafe(
    ports.publisher,
    statusChannel(row.userId),
    [{ type: "status", at: nowIso(), state: "waking", stage: "launching", since: now }],
    warn,
  );

  let taskRef: string;
  try {
    ({ taskRef } = await ports.launcher.launch(row.userId));
  } catch (err) {
    await giveBack(ports, starting, warn);
    await publishSafe(
      ports.publisher,
      statusChannel(row.userId),
      [{ type: "status", at: nowIso(), state: "asleep" }],
      warn,
    );
    throw new AppError("unavailable", "The agent could not be started. Try again in a minute.", {
      cause: err,
    });
  }
  return (await recordTaskRef(ports, starting, taskRef)) ?? starting;
}

/**
 * Records the task on the row we set to Starting. The runtime may have written the row
 * already (stage updates, its own taskRef): re-read and retry, and never overwrite a row
 * that belongs to a later start.
 */
async function recordTaskRef(
  ports: EnsureRuntimePorts,
  starting: TaskState,
  taskRef: string,
): Promise<TaskState | undefined> {
  let current = starting;
  for (let i = 0; i < 10; i++) {
    if (current.startedAt !== starting.startedAt || current.status === "Idle") return current;
    if (current.taskRef) return current;
    const { userId, version, ...rest } = current;
    const written = await ports.taskStates.compareAndSet(userId, version, { ...rest, taskRef });
    if (written) return written;
    current = await ports.taskStates.get(starting.userId);
  }
  return undefined;
}

/** After a failed launch: back to Idle, unless someone else has moved the row on. */
async function giveBack(
  ports: EnsureRuntimePorts,
  starting: TaskState,
  warn: (msg: string) => void,
): Promise<void> {
  let current = starting;
  for (let i = 0; i < 5; i++) {
    if (current.startedAt !== starting.startedAt || current.status !== "Starting") return;
    const written = await ports.taskStates.compareAndSet(current.userId, current.version, {
      status: "Idle",
      idleTimeoutMinutes: current.idleTimeoutMinutes,
      ...(current.lastActivityAt ? { lastActivityAt: current.lastActivityAt } : {}),
    });
    if (written) return;
    current = await ports.taskStates.get(starting.userId);
  }
  warn("could not reset the task-state row after a failed launch");
}

/** The message is already durable in the queue; a lost wake only waits for the runtime's poll. */
function wake(publisher: EventPublisher, userId: string, warn: (msg: string) => void): Promise<void> {
  return publishSafe(publisher, agentChannel(userId), [{ type: "wake", at: nowIso() }], warn);
}

async function publishSafe(
  publisher: EventPublisher,
  channel: string,
  events: Parameters<EventPublisher["publish"]>[1],
  warn: (msg: string) => void,
): Promise<void> {
  try {
    await publisher.publish(channel, events);
  } catch (err) {
    warn(`publish to ${channel} failed: ${errorMessage(err)}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
