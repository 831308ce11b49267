import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, newId, statusChannel } from "../contracts";
import type { RuntimeLauncher } from "../ports";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import { ensureRuntime } from "./ensure-runtime";

/** Runs `onAliveCheck` inside isAlive, before it answers (to look at what was published meanwhile). */
class CountingLauncher extends RecordingLauncher {
  onAliveCheck = (): void => undefined;
  override async isAlive(taskRef: string): Promise<boolean> {
    this.onAliveCheck();
    return super.isAlive(taskRef);
  }
}

let h: ServiceHarness;
beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

function deps(launcher: RuntimeLauncher, publisher = new RecordingPublisher()) {
  return { taskStates: h.ports.taskStates, settingsStore: h.ports.settingsStore, launcher, publisher };
}

/** Shortened lease thresholds, so a "stale" row is seconds old. */
const opts = {
  warn: () => undefined,
  lease: { runningStaleMs: 5_000, startingStaleMs: 5_000, stoppingWaitMs: 1_000 },
  pollMs: 50,
};

const user = () => `u-${newId()}`;

describe("ensureRuntime", () => {
  it("launches exactly once for two concurrent callers, and both wake the runtime", async () => {
    const userId = user();
    const launcher = new CountingLauncher();
    launcher.delayMs = 50;
    const publisher = new RecordingPublisher();
    const d = deps(launcher, publisher);
    const [a, b] = await Promise.all([ensureRuntime(d, userId, opts), ensureRuntime(d, userId, opts)]);
    expect(launcher.launches).toEqual([userId]);
    expect([a.status, b.status]).toEqual(["Starting", "Starting"]);
    const row = await h.ports.taskStates.get(userId);
    expect(row).toMatchObject({ status: "Starting", taskRef: "local:1000", stage: "launching" });
    const status = publisher.on(statusChannel(userId));
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ type: "status", state: "waking", stage: "launching" });
    // Each caller wakes at once; the one that launched wakes again once the task exists.
    expect(publisher.on(agentChannel(userId)).map((e) => e.type)).toEqual(["wake", "wake", "wake"]);
  });

  it("only wakes a healthy running runtime", async () => {
    const userId = user();
    const launcher = new CountingLauncher();
    await ensureRuntime(deps(launcher), userId, opts);
    const publisher = new RecordingPublisher();
    await ensureRuntime(deps(launcher, publisher), userId, opts);
    expect(launcher.launches).toHaveLength(1);
    expect(publisher.on(statusChannel(userId))).toHaveLength(0);
    expect(publisher.on(agentChannel(userId))).toEqual([{ type: "wake", at: expect.any(String) }]);
  });

  /** Sets the user's row to Running, beating `beatAgoMs` ago, with task `local:999`. */
  async function runningRow(userId: string, beatAgoMs: number): Promise<void> {
    const beat = new Date(Date.now() - beatAgoMs).toISOString();
    const row = await h.ports.taskStates.get(userId);
    const written = await h.ports.taskStates.compareAndSet(userId, row.version, {
      status: "Running",
      taskRef: "local:999",
      startedAt: beat,
      heartbeatAt: beat,
      idleTimeoutMinutes: 15,
    });
    if (!written) throw new Error("setup failed");
  }

  it("asks the launcher about a Running row with a fresh heartbeat, so a crashed runtime is replaced at once", async () => {
    const userId = user();
    await runningRow(userId, 0);
    const launcher = new CountingLauncher(); // says local:999 is gone
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(launcher.aliveChecks).toEqual(["local:999"]);
    expect(launcher.launches).toEqual([userId]);
    expect(state).toMatchObject({ status: "Starting", taskRef: "local:1000" });
    expect(launcher.stopped).toEqual(["local:999"]);
  });

  it("only wakes a Running row whose task the launcher says is alive", async () => {
    const userId = user();
    await runningRow(userId, 3_000);
    const launcher = new CountingLauncher();
    launcher.alive.add("local:999");
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(launcher.aliveChecks).toEqual(["local:999"]);
    expect(launcher.launches).toEqual([]);
    expect(state).toMatchObject({ status: "Running", taskRef: "local:999" });
  });

  it("wakes the runtime without waiting for the checks of its row", async () => {
    const userId = user();
    await runningRow(userId, 3_000);
    const launcher = new CountingLauncher();
    launcher.alive.add("local:999");
    const publisher = new RecordingPublisher();
    let wakesDuringCheck = -1;
    launcher.onAliveCheck = () => {
      wakesDuringCheck = publisher.on(agentChannel(userId)).length;
    };
    await ensureRuntime(deps(launcher, publisher), userId, opts);
    expect(wakesDuringCheck).toBe(1);
    expect(launcher.launches).toEqual([]);
    expect(publisher.on(agentChannel(userId))).toHaveLength(1);
  });

  it("recovers a row whose task is gone", async () => {
    const userId = user();
    const launcher = new CountingLauncher();
    await ensureRuntime(deps(launcher), userId, opts);
    launcher.alive.clear(); // the task crashed
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(launcher.launches).toHaveLength(2);
    expect(state.taskRef).toBe("local:1001");
    expect(launcher.stopped).toEqual(["local:1000"]);
  });

  it("recovers a Running row with a stale heartbeat", async () => {
    const userId = user();
    const old = new Date(Date.now() - 60_000).toISOString();
    const row = await h.ports.taskStates.get(userId);
    await h.ports.taskStates.compareAndSet(userId, row.version, {
      status: "Running",
      taskRef: "local:999",
      startedAt: old,
      heartbeatAt: old,
      idleTimeoutMinutes: 15,
    });
    const launcher = new CountingLauncher();
    launcher.alive.add("local:999"); // the process exists but has stopped beating
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(launcher.launches).toHaveLength(1);
    expect(state).toMatchObject({ status: "Starting", taskRef: "local:1000" });
  });

  it("waits for a runtime that is stopping, then starts a new one", async () => {
    const userId = user();
    const row = await h.ports.taskStates.get(userId);
    const now = new Date().toISOString();
    const stopping = await h.ports.taskStates.compareAndSet(userId, row.version, {
      status: "Stopping",
      taskRef: "local:998",
      startedAt: now,
      heartbeatAt: now,
      idleTimeoutMinutes: 15,
    });
    if (!stopping) throw new Error("setup failed");
    const launcher = new CountingLauncher();
    launcher.alive.add("local:998");
    setTimeout(() => {
      launcher.alive.delete("local:998");
      void h.ports.taskStates.compareAndSet(userId, stopping.version, {
        status: "Idle",
        idleTimeoutMinutes: 15,
      });
    }, 200);
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(launcher.launches).toHaveLength(1);
    expect(state).toMatchObject({ status: "Starting", taskRef: "local:1000" });
    // Launched from the Idle row the stopping runtime left, so there was nothing to replace.
    expect(launcher.stopped).toEqual([]);
  });

  it("replaces a Stopping row at once when its task is gone (a runtime killed mid-shutdown)", async () => {
    const userId = user();
    const row = await h.ports.taskStates.get(userId);
    const now = new Date().toISOString();
    await h.ports.taskStates.compareAndSet(userId, row.version, {
      status: "Stopping",
      taskRef: "local:997",
      startedAt: now,
      heartbeatAt: now,
      idleTimeoutMinutes: 15,
    });
    const launcher = new CountingLauncher(); // local:997 is not alive
    const state = await ensureRuntime(deps(launcher), userId, {
      ...opts,
      lease: { ...opts.lease, stoppingWaitMs: 60_000 },
    });
    expect(launcher.aliveChecks).toEqual(["local:997"]);
    expect(launcher.launches).toEqual([userId]);
    expect(launcher.stopped).toEqual(["local:997"]);
    expect(state).toMatchObject({ status: "Starting", taskRef: "local:1000" });
  });

  it("gives the row back and reports unavailable when the launch fails", async () => {
    const userId = user();
    const launcher = new CountingLauncher();
    launcher.fail = true;
    const publisher = new RecordingPublisher();
    await expect(ensureRuntime(deps(launcher, publisher), userId, opts)).rejects.toMatchObject({
      code: "unavailable",
    });
    expect((await h.ports.taskStates.get(userId)).status).toBe("Idle");
    expect(publisher.on(statusChannel(userId)).map((e) => (e.type === "status" ? e.state : e.type))).toEqual([
      "waking",
      "asleep",
    ]);
  });

  it("does not overwrite a task the runtime already recorded itself", async () => {
    const userId = user();
    const launcher = new CountingLauncher();
    // The runtime (started by launch) writes its own taskRef and stage before launch() returns.
    launcher.launch = async (uid: string) => {
      launcher.launches.push(uid);
      const r = await h.ports.taskStates.get(uid);
      const { userId: _u, version, ...rest } = r;
      await h.ports.taskStates.compareAndSet(uid, version, {
        ...rest,
        taskRef: "local:4242",
        stage: "restoring",
      });
      launcher.alive.add("local:4242");
      return { taskRef: "local:4242" };
    };
    const state = await ensureRuntime(deps(launcher), userId, opts);
    expect(state).toMatchObject({ status: "Starting", taskRef: "local:4242", stage: "restoring" });
  });
});
