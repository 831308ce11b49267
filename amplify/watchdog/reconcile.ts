import type { TaskState } from "../../lib/contracts/models";

/*
 * The watchdog's decisions, as a pure function of what it read: the task-state rows that
 * are not Idle and the ECS tasks of the cluster. The runtime stops itself when idle and the
 * server recovers stale rows on the next message; the watchdog is the safety net for what
 * neither sees: a runtime that hangs or never exits (it would bill by the hour), a row whose
 * task died while nobody was talking, and a task no row points to.
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

export interface ReconcileLimits {
  /** Stop a runtime whose last activity is older than its idle timeout plus this. */
  idleGraceMinutes: number;
  /** A Running row without a heartbeat for this long belongs to a hung runtime. */
  heartbeatStaleMinutes: number;
  /** A Starting row without a task after this long is a launch that died half-way. */
  startingTimeoutMinutes: number;
  /** A Stopping task still alive after this long is stopped again. */
  stoppingTimeoutMinutes: number;
  /** A running task that no row references is stopped once it is this old. */
  orphanGraceMinutes: number;
}

export const DEFAULT_LIMITS: ReconcileLimits = {
  idleGraceMinutes: 10,
  heartbeatStaleMinutes: 10,
  startingTimeoutMinutes: 15,
  stoppingTimeoutMinutes: 10,
  orphanGraceMinutes: 15,
};

export type Action =
  | { type: "stop-task"; taskRef: string; userId?: string; reason: string }
  | {
      type: "write-row";
      userId: string;
      expectedVersion: number;
      next: Omit<TaskState, "userId" | "version">;
      reason: string;
    };

const GONE = new Set(["STOPPED", "DEPROVISIONING", "STOPPING"]);

function minutesSince(iso: string | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : (now.getTime() - t) / 60_000;
}

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

function stoppingRow(row: TaskState, reason: string, now: Date): Omit<TaskState, "userId" | "version"> {
  const { userId: _u, version: _v, ...rest } = row;
  return {
    ...rest,
    status: "Stopping",
    stage: `watchdog: ${reason}`.slice(0, 100),
    heartbeatAt: now.toISOString(),
  };
}

/**
 * Decides what to stop and which rows to rewrite. Row writes are compare-and-set on the
 * version read, so a runtime or server that wrote meanwhile wins and the watchdog retries on
 * its next run.
 */
export function reconcile(input: {
  now: Date;
  rows: TaskState[];
  tasks: ClusterTask[];
  limits?: Partial<ReconcileLimits>;
}): Action[] {
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const { now } = input;
  const byArn = new Map(input.tasks.map((t) => [t.arn, t]));
  const actions: Action[] = [];
  const referenced = new Set<string>();

  for (const row of input.rows) {
    if (row.status === "Idle") continue;
    const write = (next: Omit<TaskState, "userId" | "version">, reason: string) =>
      actions.push({ type: "write-row", userId: row.userId, expectedVersion: row.version, next, reason });

    if (!row.taskRef) {
      // Starting without a task yet: the launcher is between the lease and RunTask, or died there.
      const age = minutesSince(row.startedAt ?? row.heartbeatAt, now);
      if (age === undefined || age > limits.startingTimeoutMinutes)
        write(idleRow(row), "launch never recorded a task");
      continue;
    }
    referenced.add(row.taskRef);
    const task = byArn.get(row.taskRef);
    if (!isAlive(task)) {
      write(idleRow(row), "task is gone");
      continue;
    }

    const heartbeatAge = minutesSince(row.heartbeatAt ?? row.startedAt, now);
    if (row.status === "Stopping") {
      if (heartbeatAge === undefined || heartbeatAge > limits.stoppingTimeoutMinutes)
        actions.push({
          type: "stop-task",
          taskRef: row.taskRef,
          userId: row.userId,
          reason: "stopping too long",
        });
      continue;
    }
    if (row.status === "Starting") {
      if (heartbeatAge === undefined || heartbeatAge > limits.startingTimeoutMinutes) {
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
    if (heartbeatAge === undefined || heartbeatAge > limits.heartbeatStaleMinutes) {
      actions.push({ type: "stop-task", taskRef: row.taskRef, userId: row.userId, reason: "no heartbeat" });
      write(stoppingRow(row, "no heartbeat", now), "no heartbeat");
      continue;
    }
    const idleAge = minutesSince(row.lastActivityAt ?? row.startedAt, now);
    if (idleAge !== undefined && idleAge > row.idleTimeoutMinutes + limits.idleGraceMinutes) {
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
    const age = task.createdAt ? (now.getTime() - task.createdAt.getTime()) / 60_000 : undefined;
    // Young tasks may belong to a launch whose row write is still in flight.
    if (age === undefined || age > limits.orphanGraceMinutes)
      actions.push({ type: "stop-task", taskRef: task.arn, reason: "no task-state row references it" });
  }
  return actions;
}
