import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoTaskStateStore } from "../../lib/aws/dynamo-task-state-store";
import type { TaskState } from "../../lib/contracts/models";
import { startTestDynamo } from "../../lib/testing/dynamo-test-server";
import { watchdogInputSchema } from "./handler";
import { runWatchdog } from "./run";

/*
 * One watchdog pass against real task-state rows in dynalite (the same DynamoTaskStateStore
 * the server and runtime use) and a mocked ECS API (no local stand-in exists for ECS).
 */

const dynamo = startTestDynamo();
const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

const now = new Date("2030-01-01T12:00:00.000Z");
const ago = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();
const cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/openclaw";
const taskArn = (n: string) => `arn:aws:ecs:eu-west-1:123456789012:task/openclaw/${n}`;
const user = (n: number) => `3f1c2a9e-0000-4000-8000-00000000000${n}`;

function store(): DynamoTaskStateStore {
  return new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName });
}

async function seed(userId: string, next: Omit<TaskState, "userId" | "version">): Promise<TaskState> {
  const written = await store().compareAndSet(userId, 0, next);
  if (!written) throw new Error("seed failed");
  return written;
}

describe("runWatchdog", () => {
  it("stops an idle runtime, clears a row whose task is gone, stops an orphan, and leaves a busy one", async () => {
    await seed(user(1), {
      status: "Running",
      taskRef: taskArn("idle"),
      startedAt: ago(60),
      heartbeatAt: ago(0.2),
      lastActivityAt: ago(40),
      idleTimeoutMinutes: 15,
    });
    await seed(user(2), {
      status: "Running",
      taskRef: taskArn("gone"),
      startedAt: ago(60),
      heartbeatAt: ago(3),
      lastActivityAt: ago(5),
      idleTimeoutMinutes: 15,
    });
    await seed(user(3), {
      status: "Running",
      taskRef: taskArn("busy"),
      startedAt: ago(60),
      heartbeatAt: ago(0.2),
      lastActivityAt: ago(1),
      idleTimeoutMinutes: 15,
    });

    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn("idle"), taskArn("busy"), taskArn("orphan")] });
    const running = (n: string) => ({
      taskArn: taskArn(n),
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      createdAt: new Date(ago(60)),
    });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [running("idle"), running("busy"), running("orphan")],
      failures: [{ arn: taskArn("gone"), reason: "MISSING" }],
    });
    ecs.on(StopTaskCommand).resolves({});

    const report = await runWatchdog({
      taskStates: store(),
      ecs: new ECSClient({ region: "eu-west-1" }),
      cluster,
      now: () => now,
      log: () => {},
    });

    expect(report.stopped.sort()).toEqual([taskArn("idle"), taskArn("orphan")].sort());
    expect(report.rowsWritten.sort()).toEqual([user(1), user(2)].sort());
    expect(report.errors).toEqual([]);
    for (const call of ecs.commandCalls(StopTaskCommand)) {
      expect(call.args[0].input.cluster).toBe(cluster);
      expect(call.args[0].input.reason).toMatch(/^watchdog: /);
    }
    // DescribeTasks also asked about the task the stale row points to.
    expect(ecs.commandCalls(DescribeTasksCommand)[0]?.args[0].input.tasks).toContain(taskArn("gone"));

    const s = store();
    expect(await s.get(user(1))).toMatchObject({ status: "Stopping", taskRef: taskArn("idle"), version: 2 });
    const cleared = await s.get(user(2));
    expect(cleared).toMatchObject({ status: "Idle", version: 2, lastActivityAt: ago(5) });
    expect(cleared.taskRef).toBeUndefined();
    expect(await s.get(user(3))).toMatchObject({ status: "Running", version: 1 });
    expect((await s.listActive()).map((r) => r.userId).sort()).toEqual([user(1), user(3)].sort());
  });

  it("does not rewrite the row when the task could not be stopped, and reports the failure", async () => {
    await seed(user(4), {
      status: "Running",
      taskRef: taskArn("stuck"),
      startedAt: ago(90),
      heartbeatAt: ago(0.2),
      lastActivityAt: ago(60),
      idleTimeoutMinutes: 15,
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn("stuck")] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: taskArn("stuck"),
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          createdAt: new Date(ago(90)),
        },
      ],
    });
    ecs.on(StopTaskCommand).rejects(new Error("AccessDenied"));

    await expect(
      runWatchdog({
        taskStates: store(),
        ecs: new ECSClient({ region: "eu-west-1" }),
        cluster,
        now: () => now,
        log: () => {},
      }),
    ).rejects.toThrow(/1 action\(s\) failed: stop .*stuck: AccessDenied/);
    expect(await store().get(user(4))).toMatchObject({ status: "Running", version: 1 });
  });

  it("loses a race to a writer that changed the row meanwhile, without error", async () => {
    const row = await seed(user(5), {
      status: "Running",
      taskRef: taskArn("raced"),
      startedAt: ago(60),
      heartbeatAt: ago(3),
      lastActivityAt: ago(2),
      idleTimeoutMinutes: 15,
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
    // The runtime writes a heartbeat between the watchdog's read and its write.
    const racing = store();
    const taskStates = {
      listActive: () => racing.listActive(),
      compareAndSet: async (...args: Parameters<DynamoTaskStateStore["compareAndSet"]>) => {
        await racing.compareAndSet(row.userId, row.version, { ...row, heartbeatAt: now.toISOString() });
        return racing.compareAndSet(...args);
      },
    };
    const report = await runWatchdog({
      taskStates,
      ecs: new ECSClient({ region: "eu-west-1" }),
      cluster,
      now: () => now,
      log: () => {},
    });
    expect(report.conflicts).toContain(user(5));
    expect(await store().get(user(5))).toMatchObject({ status: "Running", version: 2 });
  });
});

describe("watchdog input", () => {
  it("accepts the rule's constant input and rejects anything else", () => {
    expect(watchdogInputSchema.parse({ tableName: "t", cluster: cluster, idleGraceMinutes: 10 })).toEqual({
      tableName: "t",
      cluster,
      idleGraceMinutes: 10,
    });
    expect(watchdogInputSchema.safeParse({ "detail-type": "Scheduled Event" }).success).toBe(false);
  });
});
