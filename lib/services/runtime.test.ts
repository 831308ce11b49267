import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../contracts";
import {
  RecordingLauncher,
  RecordingPublisher,
  type ServiceHarness,
  startServiceHarness,
} from "../testing/services";
import { getRuntimeStatus, warmRuntime } from "./runtime";
import { sendMessage } from "./send-message";

let h: ServiceHarness;
beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("runtime status", () => {
  it("maps the task-state row and the queue to asleep, waking, ready and busy", async () => {
    const userId = randomUUID();
    const ports = { ...h.ports, publisher: new RecordingPublisher(), launcher: new RecordingLauncher() };
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "asleep", pending: 0 });

    const startedAt = new Date().toISOString();
    const starting = await ports.taskStates.compareAndSet(userId, 0, {
      status: "Starting",
      idleTimeoutMinutes: 15,
      startedAt,
      stage: "restoring",
    });
    expect(starting).toBeDefined();
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({
      state: "waking",
      stage: "restoring",
      since: startedAt,
    });

    const running = await ports.taskStates.compareAndSet(userId, starting?.version ?? -1, {
      status: "Running",
      idleTimeoutMinutes: 15,
      startedAt,
      heartbeatAt: new Date().toISOString(),
    });
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "ready" });

    const sent = await sendMessage(ports, userId, { text: "hi", idempotencyKey: newId() });
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "ready", pending: 1 });
    await ports.queue.claim(userId, sent.messageId, "w", new Date(Date.now() + 60_000));
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "busy", pending: 1 });

    // A Running row whose heartbeat stopped long ago is a dead runtime: shown as asleep.
    await ports.taskStates.compareAndSet(userId, running?.version ?? -1, {
      status: "Running",
      idleTimeoutMinutes: 15,
      startedAt,
      heartbeatAt: new Date(Date.now() - 10 * 60_000).toISOString(),
    });
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "asleep" });
  });

  it("shows a runtime whose task is gone as asleep, without waiting for its heartbeat to age", async () => {
    const userId = randomUUID();
    const launcher = new RecordingLauncher();
    const ports = { ...h.ports, launcher };
    const now = new Date().toISOString();
    await ports.taskStates.compareAndSet(userId, 0, {
      status: "Running",
      taskRef: "local:4242",
      idleTimeoutMinutes: 15,
      startedAt: now,
      heartbeatAt: now,
    });
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "asleep" });
    launcher.alive.add("local:4242");
    expect(await getRuntimeStatus(ports, userId)).toMatchObject({ state: "ready" });
  });

  it("warm starts the caller's runtime only, and reports it waking", async () => {
    const userId = randomUUID();
    const launcher = new RecordingLauncher();
    const ports = { ...h.ports, publisher: new RecordingPublisher(), launcher };
    const status = await warmRuntime(ports, userId);
    expect(launcher.launches).toEqual([userId]);
    expect(status).toMatchObject({ state: "waking", stage: "launching", pending: 0 });
  });
});
