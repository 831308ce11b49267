import { describe, expect, it } from "vitest";
import type { TaskState } from "../../lib/contracts/models";
import { type ClusterTask, reconcile } from "./reconcile";

const now = new Date("2030-01-01T12:00:00.000Z");
const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
const arn = (n: number) => `arn:aws:ecs:eu-west-1:123456789012:task/c/${n}`;

function row(over: Partial<TaskState>): TaskState {
  return {
    userId: "u1",
    status: "Running",
    version: 7,
    taskRef: arn(1),
    startedAt: ago(30),
    heartbeatAt: ago(0.25),
    lastActivityAt: ago(2),
    idleTimeoutMinutes: 15,
    ...over,
  };
}

function task(over: Partial<ClusterTask> = {}): ClusterTask {
  return {
    arn: arn(1),
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    createdAt: new Date(ago(30)),
    ...over,
  };
}

describe("reconcile", () => {
  it("leaves a healthy, recently active runtime alone", () => {
    expect(reconcile({ now, rows: [row({})], tasks: [task()] })).toEqual([]);
  });

  it("stops a runtime idle past its timeout plus the grace, and marks the row Stopping", () => {
    const actions = reconcile({ now, rows: [row({ lastActivityAt: ago(26) })], tasks: [task()] });
    expect(actions).toEqual([
      { type: "stop-task", taskRef: arn(1), userId: "u1", reason: "idle past timeout" },
      expect.objectContaining({
        type: "write-row",
        userId: "u1",
        expectedVersion: 7,
        reason: "idle past timeout",
      }),
    ]);
    const write = actions[1];
    expect(write?.type === "write-row" && write.next.status).toBe("Stopping");
  });

  it("does not stop a runtime that is idle less than timeout plus grace", () => {
    expect(reconcile({ now, rows: [row({ lastActivityAt: ago(24) })], tasks: [task()] })).toEqual([]);
  });

  it("uses startedAt when the runtime never recorded activity", () => {
    const actions = reconcile({
      now,
      rows: [row({ lastActivityAt: undefined, startedAt: ago(40) })],
      tasks: [task()],
    });
    expect(actions.map((a) => a.type)).toEqual(["stop-task", "write-row"]);
  });

  it("clears a row whose task is gone (stopped or missing), keeping the last activity", () => {
    for (const tasks of [[], [task({ lastStatus: "STOPPED", desiredStatus: "STOPPED" })]]) {
      const actions = reconcile({ now, rows: [row({})], tasks });
      expect(actions).toEqual([
        {
          type: "write-row",
          userId: "u1",
          expectedVersion: 7,
          next: { status: "Idle", idleTimeoutMinutes: 15, lastActivityAt: ago(2) },
          reason: "task is gone",
        },
      ]);
    }
  });

  it("stops a Running runtime whose heartbeat is stale (hung)", () => {
    const actions = reconcile({ now, rows: [row({ heartbeatAt: ago(11) })], tasks: [task()] });
    expect(actions[0]).toEqual({ type: "stop-task", taskRef: arn(1), userId: "u1", reason: "no heartbeat" });
  });

  it("gives a Starting row without a task until the start timeout, then clears it", () => {
    const young = row({ status: "Starting", taskRef: undefined, startedAt: ago(3), heartbeatAt: ago(3) });
    expect(reconcile({ now, rows: [young], tasks: [] })).toEqual([]);
    const old = row({ status: "Starting", taskRef: undefined, startedAt: ago(16), heartbeatAt: ago(16) });
    expect(reconcile({ now, rows: [old], tasks: [] }).map((a) => a.type)).toEqual(["write-row"]);
  });

  it("stops a Starting task that never sent a heartbeat within the start timeout", () => {
    const stuck = row({ status: "Starting", startedAt: ago(16), heartbeatAt: ago(16) });
    const actions = reconcile({ now, rows: [stuck], tasks: [task({ lastStatus: "PROVISIONING" })] });
    expect(actions[0]).toMatchObject({ type: "stop-task", reason: "start-up hung" });
  });

  it("stops a Stopping task again only once its heartbeat is stale", () => {
    const stopping = (m: number) => row({ status: "Stopping", heartbeatAt: ago(m) });
    expect(reconcile({ now, rows: [stopping(1)], tasks: [task()] })).toEqual([]);
    expect(reconcile({ now, rows: [stopping(2)], tasks: [task()] })).toEqual([
      { type: "stop-task", taskRef: arn(1), userId: "u1", reason: "stopping too long" },
    ]);
  });

  it("stops old running tasks that no row references, but not young ones", () => {
    const orphanOld = task({ arn: arn(2), createdAt: new Date(ago(20)) });
    const orphanYoung = task({ arn: arn(3), createdAt: new Date(ago(1)) });
    const actions = reconcile({ now, rows: [row({})], tasks: [task(), orphanOld, orphanYoung] });
    expect(actions).toEqual([
      { type: "stop-task", taskRef: arn(2), reason: "no task-state row references it" },
    ]);
  });

  it("honours custom limits", () => {
    const actions = reconcile({
      now,
      rows: [row({ lastActivityAt: ago(16) })],
      tasks: [task()],
      limits: { idleGraceMs: 0 },
    });
    expect(actions.map((a) => a.type)).toEqual(["stop-task", "write-row"]);
  });

  describe("resumes queued work that no live runtime serves", () => {
    const waiting = (userId: string, minutesAgo: number) => ({ userId, enqueuedAt: ago(minutesAgo) });
    const launch = (userId: string, reason: string) => ({ type: "launch", userId, reason });
    const rows: [string, TaskState[], ClusterTask[], ReturnType<typeof waiting>[], unknown[]][] = [
      [
        "Idle row (stopped mid-turn): launch",
        [],
        [],
        [waiting("u1", 5)],
        [launch("u1", "queued work, no runtime")],
      ],
      ["queued too recently: the send's own launch has its chance", [], [], [waiting("u1", 0.5)], []],
      ["queued before the window: not relaunched for ever", [], [], [waiting("u1", 3 * 60)], []],
      ["a live runtime serves it: nothing", [row({})], [task()], [waiting("u1", 5)], []],
      [
        "a live runtime stopping: nothing yet",
        [row({ status: "Stopping", heartbeatAt: ago(0.5) })],
        [task()],
        [waiting("u1", 5)],
        [],
      ],
      [
        "task gone (runner killed): launch instead of clearing the row",
        [row({})],
        [],
        [waiting("u1", 5)],
        [launch("u1", "task is gone")],
      ],
      [
        "hung runtime: stop its task, then launch instead of marking the row Stopping",
        [row({ heartbeatAt: ago(11) })],
        [task()],
        [waiting("u1", 5)],
        [
          { type: "stop-task", taskRef: arn(1), userId: "u1", reason: "no heartbeat" },
          launch("u1", "no heartbeat"),
        ],
      ],
      [
        "launch never recorded a task: launch again",
        [row({ status: "Starting", taskRef: undefined, startedAt: ago(16), heartbeatAt: ago(16) })],
        [],
        [waiting("u1", 20)],
        [launch("u1", "launch never recorded a task")],
      ],
    ];
    for (const [name, rs, tasks, w, expected] of rows)
      it(name, () => expect(reconcile({ now, rows: rs, tasks, waiting: w })).toEqual(expected));

    it("launches each waiting user of a pass, and only those", () => {
      const actions = reconcile({
        now,
        rows: [row({ userId: "busy" }), row({ userId: "gone", taskRef: arn(2) })],
        tasks: [task()],
        waiting: [waiting("asleep", 5), waiting("busy", 5), waiting("gone", 5)],
      });
      expect(actions).toEqual([launch("asleep", "queued work, no runtime"), launch("gone", "task is gone")]);
    });
  });
});
