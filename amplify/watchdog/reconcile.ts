import type { TaskState } from "../../lib/contracts/models";
import {
  isIdlePastGrace,
  isResumable,
  isStale,
  LEASE,
  type LeaseTimings,
} from "../../lib/contracts/task-lease";

/*
 * The watchdog's decisions, as a pure function of what it read: the task-state rows that
 * are not Idle and the ECS tasks of the cluster. The runtime stops itself when idle and the
 * server recovers stale rows on the next message; the watchdog is the safety net for what
 * neither sees: a runtime that hangs or never exits (it would bill by the hour), a row whose
 * task died while nobody was talking, a task no row points to, and work left in a user's
 * queue with no runtime to answer it (a runtime interrupted mid-turn, a launch that failed),
 * for which it starts one. When a row is stale and which work is resumed are the task
 * lease's rules (lib/contracts/task-lease.ts), the ones the server applies.
 */

/** An ECS task as the watchdog needs it (from ListTasks + DescribeTasks). */
export interface ClusterTask {
  arn: string;
  lastStatus: string;
  desiredStatus: string;
  /** `user-<sub>` for tasks the launcher started. */
  startedBy?: string;
  createdAt?: Date;
}

/** A user with queued work, and when the oldest of it was enqueued. */
export interface WaitingWork {
  userId: string;
  enqueuedAt: string;
}

export type Action =
  | { type: "stop-task"; taskRef: string; userId?: string; reason: string }
  /** Start the user's runtime the way a send does (ensureRuntime: compare-and-set to Starting). */
  | { type: "launch"; userId: string; reason: string }
  | {
      type: "write-row";
      userId: string;
      expectedVersion: number;
      next: Omit<TaskState, "userId" | "version">;
      reason: string;
    };

const GONE = new Set(["STOPPED", "DEPROVISIONING", "STOPPING"]);

function isAlive(task: ClusterTask | undefined): task is ClusterTask {
  return !!task && task.desiredStatus !== "STOPPED" && !GONE.has(task.lastStatus);
}

/** The row with its task forgotten: what "nothing runs for this user" looks like. */
function idleRow(row: TaskState): Omit<TaskState, "userId" | "version"> {
  return {
    status: "Idle",
    idleTimeoutMinutes: row.idleTimeoutMinutes,
    ...(row.lastActivityAt ? { lastActivityAt: row.lastActivityAt } : {}),
  };
}

function stoppingRow(row: TaskState, reason: string, now: number): Omit<TaskState, "userId" | "version"> {
  const { userId: _u, version: _v, ...rest } = row;
  return {
    ...rest,
    status: "Stopping",
    stage: `watchdog: ${reason}`.slice(0, 100),
    heartbeatAt: new Date(now).toISOString(),
  };
}

/**
 * Decides what to stop, which rows to rewrite and whom to launch a runtime for. Row writes
 * are compare-and-set on the version read, so a runtime or server that wrote meanwhile wins
 * and the watchdog retries on its next run. A user with resumable queued work (`waiting`)
 * whose runtime is gone or being stopped gets a launch in place of the row write: the launch
 * takes the row over itself, from whatever it then reads.
 */
export function reconcile(input: {
  now: Date;
  rows: TaskState[];
  tasks: ClusterTask[];
  waiting?: WaitingWork[];
  limits?: Partial<LeaseTimings>;
}): Action[] {
  const lease = { ...LEASE, ...input.limits };
  const now = input.now.getTime();
  const byArn = new Map(input.tasks.map((t) => [t.arn, t]));
  const actions: Action[] = [];
  const referenced = new Set<string>();

  for (const row of input.rows) {
    if (row.status === "Idle") continue;
    const write = (next: Omit<TaskState, "userId" | "version">, reason: string) =>
      actions.push({ type: "write-row", userId: row.userId, expectedVersion: row.version, next, reason });

    const stale = isStale(row, now, lease);
    if (!row.taskRef) {
      // Starting without a task yet: the launcher is between the lease and RunTask, or died there.
      if (stale) write(idleRow(row), "launch never recorded a task");
      continue;
    }
    referenced.add(row.taskRef);
    const task = byArn.get(row.taskRef);
    if (!isAlive(task)) {
      write(idleRow(row), "task is gone");
      continue;
    }

    if (row.status === "Stopping") {
      if (stale)
        actions.push({
          type: "stop-task",
          taskRef: row.taskRef,
          userId: row.userId,
          reason: "stopping too long",
        });
      continue;
    }
    if (row.status === "Starting") {
      if (stale) {
        actions.push({
          type: "stop-task",
          taskRef: row.taskRef,
          userId: row.userId,
          reason: "start-up hung",
        });
        write(stoppingRow(row, "start-up hung", now), "start-up hung");
      }
      continue;
    }
    if (stale) {
      actions.push({ type: "stop-task", taskRef: row.taskRef, userId: row.userId, reason: "no heartbeat" });
      write(stoppingRow(row, "no heartbeat", now), "no heartbeat");
      continue;
    }
    if (isIdlePastGrace(row, now, lease)) {
      actions.push({
        type: "stop-task",
        taskRef: row.taskRef,
        userId: row.userId,
        reason: "idle past timeout",
      });
      write(stoppingRow(row, "idle past timeout", now), "idle past timeout");
    }
  }

  for (const task of input.tasks) {
    if (referenced.has(task.arn) || !isAlive(task)) continue;
    const age = task.createdAt ? now - task.createdAt.getTime() : undefined;
    // Young tasks may belong to a launch whose row write is still in flight.
    if (age === undefined || age > lease.orphanGraceMs)
      actions.push({ type: "stop-task", taskRef: task.arn, reason: "no task-state row references it" });
  }
  return withLaunches(actions, input.rows, input.waiting ?? [], now, lease);
}

/**
 * Launches for the users whose queued work nobody will answer: no active row (Idle), or a
 * row this pass clears or whose task it stops. Their row writes are dropped, since the
 * launch rewrites the row (and stops a task it replaces, as ensureRuntime does).
 */
function withLaunches(
  actions: Action[],
  rows: TaskState[],
  waiting: WaitingWork[],
  now: number,
  lease: LeaseTimings,
): Action[] {
  const active = new Set(rows.filter((r) => r.status !== "Idle").map((r) => r.userId));
  const launches: Action[] = [];
  for (const { userId, enqueuedAt } of waiting) {
    if (!isResumable(enqueuedAt, now, lease)) continue;
    if (!active.has(userId)) {
      launches.push({ type: "launch", userId, reason: "queued work, no runtime" });
      continue;
    }
    const ending = actions.find((a) => a.type !== "launch" && a.userId === userId);
    if (ending) launches.push({ type: "launch", userId, reason: ending.reason });
  }
  const launched = new Set(launches.map((a) => a.userId));
  return [...actions.filter((a) => !(a.type === "write-row" && launched.has(a.userId))), ...launches];
}
