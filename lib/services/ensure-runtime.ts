import { agentChannel, nowIso, statusChannel, type TaskState, type WakeItem } from "../contracts";
import { AppError } from "../errors";
import type { EventPublisher, RuntimeLauncher, SettingsStore, TaskStateStore } from "../ports";

export interface EnsureRuntimeDeps {
  taskStates: TaskStateStore;
  launcher: RuntimeLauncher;
  publisher: EventPublisher;
  settingsStore: SettingsStore;
  /** Where failures that do not affect the caller go (a wake publish that failed ...). */
  warn?: (msg: string) => void;
  /** Staleness and waiting limits; tests shorten them. */
  timing?: Partial<EnsureRuntimeTiming>;
}

export interface EnsureRuntimeTiming {
  /** A Running or Stopping row whose heartbeat is older than this belongs to a dead runtime. */
  runningStaleMs: number;
  /**
   * A Running row that beat more recently than this is trusted without asking the launcher
   * (in ECS a DescribeTasks call). Off by default (0): the check does not delay the wake-up,
   * which goes out before it, and trusting a fresh heartbeat would leave a message sent
   * right after a crash waiting until something else starts a runtime.
   */
  trustHeartbeatMs: number;
  /** Same for Starting: covers Fargate provisioning and the image pull before the first heartbeat. */
  startingStaleMs: number;
  /** How long to wait for a runtime that is Stopping (it uploads state the next one restores). */
  stoppingWaitMs: number;
  pollMs: number;
  /**
   * How long the row check waits for the first wake-up's publish to finish. The check's
   * requests and the wake-up go to services that, locally, share one process; a warm
   * runtime waits for the wake-up, while the check matters only for a cold one.
   */
  wakeHeadStartMs: number;
}

export interface EnsureRuntimeOptions {
  /**
   * The queue item that prompted this call (already enqueued). The wake-up names it so a
   * warm runtime claims it without listing the queue first, or starts on it at once when
   * it carries `run` (see wakeItemSchema).
   */
  item?: WakeItem;
}

const DEFAULT_TIMING: EnsureRuntimeTiming = {
  runningStaleMs: 90_000,
  trustHeartbeatMs: 0,
  startingStaleMs: 5 * 60_000,
  stoppingWaitMs: 20_000,
  pollMs: 500,
  wakeHeadStartMs: 10,
};

/**
 * Makes sure the user's runtime is running or starting, and wakes it. At most one runtime
 * per user: starting one is a compareAndSet of the task-state row from what was read to
 * Starting, so of two concurrent callers exactly one launches. A row that says Starting
 * or Running but whose task is gone (the launcher says so) or whose heartbeat is stale is
 * recovered the same way. Publishes a `waking` status when it starts a runtime, and a
 * `wake` on `/agent/<sub>` in every case. Returns the row as it stands afterwards.
 *
 * The first wake goes out at once, alongside the row read: a warm runtime (the common
 * case, and the one where latency shows) starts on the message without waiting for the
 * checks. A wake that reaches no runtime is harmless; one that has to start is woken again
 * after the launch.
 */
export async function ensureRuntime(
  deps: EnsureRuntimeDeps,
  userId: string,
  opts: EnsureRuntimeOptions = {},
): Promise<TaskState> {
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const warn = deps.warn ?? ((msg: string) => console.warn(`[ensureRuntime] ${msg}`));
  const waitUntil = Date.now() + timing.stoppingWaitMs;
  const firstWake = wake(deps, userId, warn, opts.item);
  await Promise.race([firstWake, sleep(timing.wakeHeadStartMs)]);

  for (let attempt = 0; attempt < 50; attempt++) {
    const row = await deps.taskStates.get(userId);
    let decision: "launch" | "healthy" | "wait";
    if (row.status === "Idle") decision = "launch";
    else if (row.status === "Stopping")
      decision = isStale(row, timing.runningStaleMs) ? "launch" : Date.now() < waitUntil ? "wait" : "healthy";
    else decision = (await isHealthy(deps, row, timing, warn)) ? "healthy" : "launch";

    if (decision === "wait") {
      await sleep(timing.pollMs);
      continue;
    }
    if (decision === "healthy") {
      await firstWake;
      return row;
    }
    const started = await launch(deps, row, warn);
    if (!started) continue; // another caller changed the row first: look again
    await Promise.all([firstWake, wake(deps, userId, warn, opts.item)]);
    return started;
  }
  await firstWake;
  throw new AppError("unavailable", "The agent's state kept changing; try again in a moment.");
}

async function isHealthy(
  deps: EnsureRuntimeDeps,
  row: TaskState,
  timing: EnsureRuntimeTiming,
  warn: (msg: string) => void,
): Promise<boolean> {
  const staleAfter = row.status === "Starting" ? timing.startingStaleMs : timing.runningStaleMs;
  if (isStale(row, staleAfter)) return false;
  if (!row.taskRef) return true; // the launcher that set Starting has not recorded the task yet
  // Only the runtime itself sets Running and beats; Starting's heartbeat was set by the launcher.
  if (row.status === "Running" && timing.trustHeartbeatMs > 0 && !isStale(row, timing.trustHeartbeatMs))
    return true;
  try {
    return await deps.launcher.isAlive(row.taskRef);
  } catch (err) {
    // A throttled or failing status call must not start a second runtime.
    warn(`could not check the runtime task: ${err instanceof Error ? err.message : String(err)}`);
    return true;
  }
}

/** Takes the row to Starting (from exactly what was read), launches, records the task. */
async function launch(
  deps: EnsureRuntimeDeps,
  row: TaskState,
  warn: (msg: string) => void,
): Promise<TaskState | undefined> {
  const settings = await deps.settingsStore.getSettings(row.userId);
  const now = nowIso();
  const starting = await deps.taskStates.compareAndSet(
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
    // Recovering a stale row: make sure the old task is really gone.
    await deps.launcher
      .stop(row.taskRef, "replaced: heartbeat stale or task gone")
      .catch((err) =>
        warn(`could not stop the stale runtime: ${err instanceof Error ? err.message : String(err)}`),
      );
  }
  await publishSafe(
    deps.publisher,
    statusChannel(row.userId),
    [{ type: "status", at: nowIso(), state: "waking", stage: "launching", since: now }],
    warn,
  );

  let taskRef: string;
  try {
    ({ taskRef } = await deps.launcher.launch(row.userId));
  } catch (err) {
    await giveBack(deps, starting, warn);
    await publishSafe(
      deps.publisher,
      statusChannel(row.userId),
      [{ type: "status", at: nowIso(), state: "asleep" }],
      warn,
    );
    throw new AppError("unavailable", "The agent could not be started. Try again in a minute.", {
      cause: err,
    });
  }
  return (await recordTaskRef(deps, starting, taskRef)) ?? starting;
}

/**
 * Records the task on the row we set to Starting. The runtime may have written the row
 * already (stage updates, its own taskRef): re-read and retry, and never overwrite a row
 * that belongs to a later start.
 */
async function recordTaskRef(
  deps: EnsureRuntimeDeps,
  starting: TaskState,
  taskRef: string,
): Promise<TaskState | undefined> {
  let current = starting;
  for (let i = 0; i < 10; i++) {
    if (current.startedAt !== starting.startedAt || current.status === "Idle") return current;
    if (current.taskRef) return current;
    const { userId, version, ...rest } = current;
    const written = await deps.taskStates.compareAndSet(userId, version, { ...rest, taskRef });
    if (written) return written;
    current = await deps.taskStates.get(starting.userId);
  }
  return undefined;
}

/** After a failed launch: back to Idle, unless someone else has moved the row on. */
async function giveBack(
  deps: EnsureRuntimeDeps,
  starting: TaskState,
  warn: (msg: string) => void,
): Promise<void> {
  let current = starting;
  for (let i = 0; i < 5; i++) {
    if (current.startedAt !== starting.startedAt || current.status !== "Starting") return;
    const written = await deps.taskStates.compareAndSet(current.userId, current.version, {
      status: "Idle",
      idleTimeoutMinutes: current.idleTimeoutMinutes,
      ...(current.lastActivityAt ? { lastActivityAt: current.lastActivityAt } : {}),
    });
    if (written) return;
    current = await deps.taskStates.get(starting.userId);
  }
  warn("could not reset the task-state row after a failed launch");
}

async function wake(
  deps: EnsureRuntimeDeps,
  userId: string,
  warn: (msg: string) => void,
  item: EnsureRuntimeOptions["item"],
): Promise<void> {
  // The message is already durable in the queue; a lost wake only waits for the runtime's poll.
  await publishSafe(
    deps.publisher,
    agentChannel(userId),
    [{ type: "wake", at: nowIso(), ...(item ? { item } : {}) }],
    warn,
  );
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
    warn(`publish to ${channel} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isStale(row: TaskState, afterMs: number): boolean {
  const beat = row.heartbeatAt ?? row.startedAt;
  return !beat || Date.now() - Date.parse(beat) > afterMs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
