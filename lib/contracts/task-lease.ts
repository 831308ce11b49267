import type { RuntimeState } from "./events";
import type { TaskState } from "./models";

/*
 * The task lease: one row per user says whether a runtime runs for them, and every party
 * (the web server starting runtimes, the runtime itself, the status the UI shows and the
 * watchdog) reads that row through the rules below. Every threshold of the lease lives
 * here; a row write is always a compare-and-set on the row's version (TaskStateStore).
 *
 *   Idle ──launch──▶ Starting ──runtime ready──▶ Running ──idle/stop──▶ Stopping ──▶ Idle
 *
 * The runtime beats (writes heartbeatAt) every `heartbeatMs` from the moment it starts.
 * A row whose beat is older than its status allows belongs to a runtime that died: the
 * next message launches a new one over it, the status says "asleep", and the watchdog
 * stops the task if it still exists. Work left queued with no runtime to answer it (a
 * runtime stopped or killed mid-turn) is resumed by the watchdog (resumeWindow).
 */

export const LEASE = {
  /** How often the runtime writes its heartbeat. */
  heartbeatMs: 15_000,
  /** Running or Stopping with no beat for this long: the runtime is dead (six missed beats). */
  runningStaleMs: 90_000,
  /** Starting covers Fargate provisioning and the image pull before the first beat. */
  startingStaleMs: 5 * 60_000,
  /** How long a new start waits for a live Stopping runtime (it uploads the state the next one restores). */
  stoppingWaitMs: 20_000,
  /** The runtime stops itself after the user's idle timeout; the watchdog adds this grace. */
  idleGraceMs: 10 * 60_000,
  /** A task no row points to is stopped once it is this old (a launch may still be recording it). */
  orphanGraceMs: 15 * 60_000,
  /**
   * Queued work that no live runtime serves is resumed by the watchdog once it has waited
   * this long (the send that queued it has had its own launch by then).
   */
  resumeGraceMs: 60_000,
  /**
   * ...if it was queued within this long: longer than the longest run, so an interrupted
   * one is resumed, and bounded, so a runtime that cannot start is not relaunched for ever.
   */
  resumeWindowMs: 2 * 60 * 60_000,
} as const;

export type LeaseTimings = { -readonly [K in keyof typeof LEASE]: number };

/** When the row's holder last showed life. */
export function lastBeat(row: TaskState): number | undefined {
  const at = row.heartbeatAt ?? row.startedAt;
  if (!at) return undefined;
  const t = Date.parse(at);
  return Number.isNaN(t) ? undefined : t;
}

/** True when the row is held (not Idle) by a runtime that stopped beating. */
export function isStale(row: TaskState, now: number, timings: LeaseTimings = LEASE): boolean {
  if (row.status === "Idle") return false;
  const beat = lastBeat(row);
  const limit = row.status === "Starting" ? timings.startingStaleMs : timings.runningStaleMs;
  return beat === undefined || now - beat > limit;
}

/**
 * What a caller that needs the user's runtime does with the row it read:
 * - `launch`: take the row to Starting (compare-and-set) and start a runtime;
 * - `wait`: a live runtime is stopping; read again shortly;
 * - `reuse`: a runtime is on its way or up; just wake it.
 *
 * `taskAlive` is the launcher's answer for the row's task (ECS DescribeTasks, or the local
 * process), when the row names one and is not stale; `needsTaskCheck` says when to ask.
 * A task that is gone is replaced at once, whatever its row says, so a runtime killed
 * mid-run or mid-shutdown never leaves the next message waiting for its heartbeat to age.
 */
export type EnsureDecision = "launch" | "wait" | "reuse";

export function needsTaskCheck(row: TaskState, now: number, timings: LeaseTimings = LEASE): boolean {
  return row.status !== "Idle" && row.taskRef !== undefined && !isStale(row, now, timings);
}

export function decideEnsure(
  row: TaskState,
  now: number,
  waitUntil: number,
  taskAlive: boolean | undefined,
  timings: LeaseTimings = LEASE,
): EnsureDecision {
  if (row.status === "Idle" || isStale(row, now, timings) || taskAlive === false) return "launch";
  if (row.status === "Stopping") return now < waitUntil ? "wait" : "reuse";
  // Starting before the launcher recorded the task: the launch is in flight.
  return "reuse";
}

/**
 * The runtime's state as the UI shows it. `running`: a queue item is claimed under a live
 * lease; `taskAlive`: the launcher's answer, when it was asked (see needsTaskCheck).
 */
export function runtimeStateOf(
  row: TaskState,
  now: number,
  running: boolean,
  taskAlive?: boolean,
  timings: LeaseTimings = LEASE,
): RuntimeState {
  if (row.status === "Idle" || isStale(row, now, timings) || taskAlive === false) return "asleep";
  if (row.status === "Starting") return "waking";
  if (row.status === "Stopping") return "stopping";
  return running ? "busy" : "ready";
}

/** True when the user's idle timeout, plus the watchdog's grace, has passed since the last activity. */
export function isIdlePastGrace(row: TaskState, now: number, timings: LeaseTimings = LEASE): boolean {
  const at = row.lastActivityAt ?? row.startedAt;
  if (!at) return false;
  const t = Date.parse(at);
  return !Number.isNaN(t) && now - t > row.idleTimeoutMinutes * 60_000 + timings.idleGraceMs;
}

/**
 * The enqueue times of the work the watchdog resumes when no live runtime serves its user
 * (see resumeGraceMs and resumeWindowMs): from `from` to `to`.
 */
export function resumeWindow(now: number, timings: LeaseTimings = LEASE): { from: Date; to: Date } {
  return { from: new Date(now - timings.resumeWindowMs), to: new Date(now - timings.resumeGraceMs) };
}

/** True when work enqueued at `enqueuedAt` is in the resume window. */
export function isResumable(enqueuedAt: string, now: number, timings: LeaseTimings = LEASE): boolean {
  const t = Date.parse(enqueuedAt);
  const { from, to } = resumeWindow(now, timings);
  return !Number.isNaN(t) && t >= from.getTime() && t <= to.getTime();
}
