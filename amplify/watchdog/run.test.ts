import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoPendingQueue } from "../../lib/aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "../../lib/aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "../../lib/aws/dynamo-task-state-store";
import { newId, type PendingItem } from "../../lib/contracts";
import type { TaskState } from "../../lib/contracts/models";
import { ensureRuntime } from "../../lib/services/ensure-runtime";
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

function queue(): DynamoPendingQueue {
  return new DynamoPendingQueue({
    client: dynamo.client,
    tableName: dynamo.tableName,
    now: () => now.getTime(),
  });
}

/** The dependencies every pass needs; launches are recorded, not made. */
const launches: string[] = [];
function common() {
  return {
    queue: queue(),
    launch: async (userId: string) => void launches.push(userId),
    ecs: new ECSClient({ region: "eu-west-1" }),
    cluster,
    now: () => now,
    log: () => {},
  };
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
      ...common(),
      taskStates: store(),
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
        ...common(),
        taskStates: store(),
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
      ...common(),
      taskStates,
    });
    expect(report.conflicts).toContain(user(5));
    expect(await store().get(user(5))).toMatchObject({ status: "Running", version: 2 });
  });
});

describe("runWatchdog and queued work", () => {
  const enqueue = async (userId: string, minutesAgo: number): Promise<PendingItem> => {
    const at = new Date(now.getTime() - minutesAgo * 60_000);
    const item: PendingItem = {
      userId,
      id: newId(at.getTime()),
      conversationId: newId(),
      messageId: newId(),
      text: "left behind",
      source: "web",
      enqueuedAt: at.toISOString(),
      attempts: 1,
    };
    await queue().enqueue(item);
    return item;
  };

  it("starts a runtime, as a send would, for a user whose runtime stopped with work queued", async () => {
    const asleep = user(6);
    const justSent = user(7);
    // The runtime was stopped mid-turn (a Spot interruption): row Idle, the message queued.
    await seed(asleep, { status: "Idle", idleTimeoutMinutes: 15 });
    const items = [await enqueue(asleep, 5), await enqueue(justSent, 0.2)];
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
    const launched: string[] = [];
    const ports = {
      taskStates: store(),
      settingsStore: new DynamoSettingsStore({ client: dynamo.client, tableName: dynamo.tableName }),
      publisher: { publish: async () => undefined },
      launcher: {
        launch: async (userId: string) => {
          launched.push(userId);
          return { taskRef: taskArn(`for-${userId.slice(-1)}`) };
        },
        isAlive: async () => true,
        stop: async () => undefined,
      },
    };
    const report = await runWatchdog({
      ...common(),
      taskStates: store(),
      launch: (userId) => ensureRuntime(ports, userId, { warn: () => {} }),
    });
    // The message sent a moment ago has its own launch coming: only the stranded one gets one.
    expect(launched).toEqual([asleep]);
    expect(report.launched).toEqual([asleep]);
    expect(await store().get(asleep)).toMatchObject({ status: "Starting", taskRef: taskArn("for-6") });
    expect((await store().get(justSent)).status).toBe("Idle");
    for (const i of items) await queue().remove(i.userId, i.id);
  });
});

describe("watchdog input", () => {
  const launch = {
    taskDefinition: "openclaw-runtime",
    containerName: "runtime",
    subnets: "s-1, s-2",
    securityGroups: "sg-1",
  };

  it("accepts the rule's constant input and rejects anything else", () => {
    expect(
      watchdogInputSchema.parse({ tableName: "t", cluster: cluster, idleGraceMinutes: 10, launch }),
    ).toEqual({
      tableName: "t",
      cluster,
      idleGraceMinutes: 10,
      launch: { ...launch, subnets: ["s-1", "s-2"], securityGroups: ["sg-1"] },
    });
    expect(watchdogInputSchema.safeParse({ tableName: "t", cluster, idleGraceMinutes: 10 }).success).toBe(
      false,
    );
    expect(watchdogInputSchema.safeParse({ "detail-type": "Scheduled Event" }).success).toBe(false);
  });
});
