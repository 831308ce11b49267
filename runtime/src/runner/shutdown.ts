import { nowIso } from "../../../lib/contracts";
import type { Subscription } from "../../../lib/ports";
import { type RunnerCore, withTimeout } from "./core";
import { describeError } from "./log";
import { abortRun } from "./turn";

/*
 * A graceful stop within the shutdown budget: mark the row Stopping, let a turn that is
 * nearly done finish and abort the rest (their messages stay queued), close the
 * subscription, stop the engine, upload the state, and give the row back (Idle).
 * `releaseRow: false` leaves the row alone: another runtime has taken it over.
 */
export async function shutdown(
  core: RunnerCore,
  reason: string,
  releaseRow: boolean,
  parts: { subscription(): Subscription | undefined; cancelDrain(): void },
): Promise<void> {
  const { log, shutdownMs } = core.opts;
  const deadline = Date.now() + shutdownMs;
  const remaining = () => deadline - Date.now();
  core.phase = "stopping";
  core.clearTimers();
  parts.cancelDrain();
  log("info", "stopping", { reason, activeRuns: core.active.size });
  core.publishStatus("stopping");
  if (releaseRow) {
    await core
      .updateRow((r) =>
        core.row.owns(r)
          ? { status: "Stopping", stage: reason.slice(0, 100), heartbeatAt: nowIso() }
          : undefined,
      )
      .catch((err) => log("warn", "could not mark the row Stopping", { error: describeError(err) }));
  }

  if (core.active.size > 0) {
    const runs = () => Promise.all([...core.active.values()].map((r) => r.done));
    const grace = reason === "idle" ? 0 : Math.floor(shutdownMs * 0.4);
    await withTimeout(runs(), grace);
    for (const run of core.active.values()) abortRun(run, "shutdown");
    await withTimeout(runs(), 3_000);
  }

  await parts
    .subscription()
    ?.close()
    .catch((err) => log("warn", "could not close the subscription", { error: describeError(err) }));
  if (core.engine) {
    const budget = Math.max(1_000, Math.min(8_000, remaining() - 8_000));
    const began = Date.now();
    await core.engine
      .stop(budget)
      .catch((err) => log("warn", "engine stop failed", { error: describeError(err) }));
    log("info", "engine stopped", { ms: Date.now() - began });
  }
  if (core.sync.isRestored) {
    try {
      const began = Date.now();
      const r = await withTimeout(core.sync.sync(), Math.max(1_000, remaining() - 2_000));
      if (r) log("info", "final state sync", { ...r, ms: Date.now() - began });
      else log("warn", "final state sync did not finish in time");
    } catch (err) {
      log("error", "final state sync failed", { error: describeError(err) });
    }
  }
  if (releaseRow) {
    const at = nowIso();
    await core
      .updateRow((r) =>
        core.row.owns(r)
          ? {
              status: "Idle",
              taskRef: undefined,
              stage: undefined,
              heartbeatAt: at,
              lastActivityAt: new Date(core.lastActivity).toISOString(),
            }
          : undefined,
      )
      .catch((err) => log("warn", "could not mark the row Idle", { error: describeError(err) }));
    core.publishStatus("asleep");
  }
  await core.flushStatus(2_000);
  core.phase = "stopped";
  log("info", "stopped", { reason });
}
