import { DescribeTasksCommand, type ECSClient, ListTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import type { DynamoPendingQueue } from "../../lib/aws/dynamo-pending-queue";
import { LEASE, type LeaseTimings, resumeWindow } from "../../lib/contracts/task-lease";
import { errorMessage } from "../../lib/errors";
import type { TaskStateStore } from "../../lib/ports";
import { type ClusterTask, reconcile } from "./reconcile";

export interface WatchdogDeps {
  taskStates: Pick<TaskStateStore, "listActive" | "compareAndSet">;
  /** Finds the users with queued work (gsi1's waiting partition). */
  queue: Pick<DynamoPendingQueue, "waitingUsers">;
  /** Starts a user's runtime the way a send does (ensureRuntime with the ECS launcher). */
  launch: (userId: string) => Promise<unknown>;
  ecs: ECSClient;
  /** Cluster name or ARN. */
  cluster: string;
  limits?: Partial<LeaseTimings>;
  now?: () => Date;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface WatchdogReport {
  rows: number;
  tasks: number;
  stopped: string[];
  rowsWritten: string[];
  /** Users whose runtime was started for queued work. */
  launched: string[];
  /** Row writes another writer won (the next run looks again). */
  conflicts: string[];
  errors: string[];
}

/** The cluster's live tasks plus the tasks rows point to (which may be stopped or gone). */
export async function describeClusterTasks(
  ecs: ECSClient,
  cluster: string,
  alsoArns: string[],
): Promise<ClusterTask[]> {
  const arns = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, desiredStatus: "RUNNING", nextToken }));
    for (const a of page.taskArns ?? []) arns.add(a);
    nextToken = page.nextToken;
  } while (nextToken);
  for (const a of alsoArns) arns.add(a);

  const all = [...arns];
  const out: ClusterTask[] = [];
  for (let i = 0; i < all.length; i += 100) {
    const res = await ecs.send(new DescribeTasksCommand({ cluster, tasks: all.slice(i, i + 100) }));
    for (const t of res.tasks ?? []) {
      if (!t.taskArn) continue;
      out.push({
        arn: t.taskArn,
        lastStatus: t.lastStatus ?? "UNKNOWN",
        desiredStatus: t.desiredStatus ?? "UNKNOWN",
        ...(t.startedBy ? { startedBy: t.startedBy } : {}),
        ...(t.createdAt ? { createdAt: t.createdAt } : {}),
      });
    }
    // res.failures lists MISSING tasks: absent from `out`, which reconcile treats as gone.
  }
  return out;
}

/**
 * One watchdog pass: read, decide (reconcile), act. Every action is tried even when an
 * earlier one failed, except a row write or launch whose user's task could not be stopped. Throws at the end
 * if anything failed, so the failure shows in the function's error metric.
 */
export async function runWatchdog(deps: WatchdogDeps): Promise<WatchdogReport> {
  const now = (deps.now ?? (() => new Date()))();
  const log = deps.log ?? ((m, f) => console.log(JSON.stringify({ msg: m, ...f })));
  const rows = await deps.taskStates.listActive();
  const window = resumeWindow(now.getTime(), { ...LEASE, ...deps.limits });
  const [tasks, waiting] = await Promise.all([
    describeClusterTasks(
      deps.ecs,
      deps.cluster,
      rows.flatMap((r) => (r.taskRef?.startsWith("arn:") ? [r.taskRef] : [])),
    ),
    deps.queue.waitingUsers(window.from, window.to),
  ]);
  const actions = reconcile({ now, rows, tasks, waiting, limits: deps.limits });
  const report: WatchdogReport = {
    rows: rows.length,
    tasks: tasks.length,
    stopped: [],
    rowsWritten: [],
    launched: [],
    conflicts: [],
    errors: [],
  };
  const failedUsers = new Set<string>();

  for (const action of actions) {
    if (action.type === "stop-task") {
      try {
        await deps.ecs.send(
          new StopTaskCommand({
            cluster: deps.cluster,
            task: action.taskRef,
            reason: `watchdog: ${action.reason}`,
          }),
        );
        report.stopped.push(action.taskRef);
        log("stopped task", { taskRef: action.taskRef, userId: action.userId, reason: action.reason });
      } catch (err) {
        if (action.userId) failedUsers.add(action.userId);
        report.errors.push(`stop ${action.taskRef}: ${errorMessage(err)}`);
      }
      continue;
    }
    if (failedUsers.has(action.userId)) continue;
    if (action.type === "launch") {
      try {
        await deps.launch(action.userId);
        report.launched.push(action.userId);
        log("launched a runtime for queued work", { userId: action.userId, reason: action.reason });
      } catch (err) {
        report.errors.push(`launch ${action.userId}: ${errorMessage(err)}`);
      }
      continue;
    }
    try {
      const written = await deps.taskStates.compareAndSet(action.userId, action.expectedVersion, action.next);
      if (written) {
        report.rowsWritten.push(action.userId);
        log("rewrote task-state row", {
          userId: action.userId,
          status: action.next.status,
          reason: action.reason,
        });
      } else report.conflicts.push(action.userId);
    } catch (err) {
      report.errors.push(`row ${action.userId}: ${errorMessage(err)}`);
    }
  }
  log("watchdog pass", { ...report });
  if (report.errors.length > 0)
    throw new Error(`watchdog: ${report.errors.length} action(s) failed: ${report.errors.join("; ")}`);
  return report;
}
