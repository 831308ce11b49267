import { describe, expect, it } from "vitest";
import type { TaskState } from "./models";
import {
  decideEnsure,
  isIdlePastGrace,
  isResumable,
  isStale,
  LEASE,
  needsTaskCheck,
  resumeWindow,
  runtimeStateOf,
} from "./task-lease";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function row(patch: Partial<TaskState>): TaskState {
  return { userId: "user-1", status: "Running", version: 3, idleTimeoutMinutes: 15, ...patch };
}

describe("the task lease", () => {
  it("counts a Running or Stopping row stale after runningStaleMs without a beat, Starting after startingStaleMs", () => {
    for (const status of ["Running", "Stopping"] as const) {
      expect(isStale(row({ status, heartbeatAt: ago(LEASE.runningStaleMs - 1) }), NOW)).toBe(false);
      expect(isStale(row({ status, heartbeatAt: ago(LEASE.runningStaleMs + 1) }), NOW)).toBe(true);
    }
    expect(isStale(row({ status: "Starting", heartbeatAt: ago(LEASE.runningStaleMs + 1) }), NOW)).toBe(false);
    expect(isStale(row({ status: "Starting", heartbeatAt: ago(LEASE.startingStaleMs + 1) }), NOW)).toBe(true);
  });

  it("falls back to startedAt, treats a row with no times as stale and an Idle row as never stale", () => {
    expect(isStale(row({ startedAt: ago(1_000) }), NOW)).toBe(false);
    expect(isStale(row({}), NOW)).toBe(true);
    expect(isStale(row({ status: "Idle" }), NOW)).toBe(false);
  });

  it.each([
    ["Idle", {}, undefined, "launch"],
    ["Running", { heartbeatAt: ago(LEASE.runningStaleMs + 1), taskRef: "t" }, undefined, "launch"],
    ["Running", { heartbeatAt: ago(1_000), taskRef: "t" }, true, "reuse"],
    ["Running", { heartbeatAt: ago(1_000), taskRef: "t" }, false, "launch"],
    ["Starting", { heartbeatAt: ago(1_000) }, undefined, "reuse"],
    ["Starting", { heartbeatAt: ago(1_000), taskRef: "t" }, true, "reuse"],
    ["Starting", { heartbeatAt: ago(1_000), taskRef: "t" }, false, "launch"],
    ["Starting", { heartbeatAt: ago(LEASE.startingStaleMs + 1), taskRef: "t" }, undefined, "launch"],
    ["Stopping", { heartbeatAt: ago(1_000), taskRef: "t" }, true, "wait"],
    ["Stopping", { heartbeatAt: ago(1_000), taskRef: "t" }, false, "launch"],
    ["Stopping", { heartbeatAt: ago(LEASE.runningStaleMs + 1), taskRef: "t" }, undefined, "launch"],
  ] as const)("decides %s %o (task alive: %s) → %s", (status, patch, alive, decision) => {
    expect(decideEnsure(row({ status, ...patch }), NOW, NOW + 1, alive)).toBe(decision);
  });

  it("asks the launcher only about a live-looking row that names a task", () => {
    expect(needsTaskCheck(row({ heartbeatAt: ago(1_000), taskRef: "t" }), NOW)).toBe(true);
    expect(needsTaskCheck(row({ status: "Stopping", heartbeatAt: ago(1_000), taskRef: "t" }), NOW)).toBe(
      true,
    );
    expect(needsTaskCheck(row({ heartbeatAt: ago(1_000) }), NOW)).toBe(false);
    expect(needsTaskCheck(row({ heartbeatAt: ago(LEASE.runningStaleMs + 1), taskRef: "t" }), NOW)).toBe(
      false,
    );
    expect(needsTaskCheck(row({ status: "Idle", taskRef: "t" }), NOW)).toBe(false);
  });

  it("stops waiting for a live Stopping runtime once the wait is over", () => {
    expect(decideEnsure(row({ status: "Stopping", heartbeatAt: ago(1_000) }), NOW, NOW, true)).toBe("reuse");
  });

  it.each([
    ["Idle", {}, false, "asleep"],
    ["Starting", { heartbeatAt: ago(1_000) }, false, "waking"],
    ["Running", { heartbeatAt: ago(1_000) }, false, "ready"],
    ["Running", { heartbeatAt: ago(1_000) }, true, "busy"],
    ["Running", { heartbeatAt: ago(LEASE.runningStaleMs + 1) }, true, "asleep"],
    ["Stopping", { heartbeatAt: ago(1_000) }, false, "stopping"],
    ["Stopping", { heartbeatAt: ago(LEASE.runningStaleMs + 1) }, false, "asleep"],
  ] as const)("shows %s %o (running: %s) as %s", (status, patch, running, state) => {
    expect(runtimeStateOf(row({ status, ...patch }), NOW, running)).toBe(state);
  });

  it("shows a fresh row whose task the launcher says is gone as asleep", () => {
    const fresh = row({ heartbeatAt: ago(1_000), taskRef: "t" });
    expect(runtimeStateOf(fresh, NOW, false, true)).toBe("ready");
    expect(runtimeStateOf(fresh, NOW, false, false)).toBe("asleep");
  });

  it("is idle past grace only after the idle timeout plus the watchdog's grace", () => {
    const limit = 15 * 60_000 + LEASE.idleGraceMs;
    expect(isIdlePastGrace(row({ lastActivityAt: ago(limit - 1) }), NOW)).toBe(false);
    expect(isIdlePastGrace(row({ lastActivityAt: ago(limit + 1) }), NOW)).toBe(true);
    expect(isIdlePastGrace(row({}), NOW)).toBe(false);
  });

  it("resumes queued work after the grace and within the window only", () => {
    expect(resumeWindow(NOW)).toEqual({
      from: new Date(NOW - LEASE.resumeWindowMs),
      to: new Date(NOW - LEASE.resumeGraceMs),
    });
    expect(isResumable(ago(LEASE.resumeGraceMs - 1), NOW)).toBe(false);
    expect(isResumable(ago(LEASE.resumeGraceMs + 1), NOW)).toBe(true);
    expect(isResumable(ago(LEASE.resumeWindowMs - 1), NOW)).toBe(true);
    expect(isResumable(ago(LEASE.resumeWindowMs + 1), NOW)).toBe(false);
    expect(isResumable("not a time", NOW)).toBe(false);
  });
});
