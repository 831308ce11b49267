import { isStale, type TaskState } from "../../../lib/contracts";
import type { TaskStateStore } from "../../../lib/ports";

/*
 * The runtime's side of the one-row-per-user lease. Every write is a compareAndSet on
 * the row's version; on a conflict the row is re-read and the change re-applied, so a
 * heartbeat never overwrites what the launcher or the watchdog wrote meanwhile.
 */

export type RowPatch = Partial<Omit<TaskState, "userId" | "version">>;

export class TaskRow {
  private latest: TaskState | undefined;
  private startedAt: string | undefined;

  constructor(
    private readonly store: TaskStateStore,
    private readonly userId: string,
    /** This process's task reference (`local:<pid>` or the ECS task ARN), when known. */
    readonly taskRef: string | undefined,
  ) {}

  get current(): TaskState | undefined {
    return this.latest;
  }

  async read(): Promise<TaskState> {
    this.latest = await this.store.get(this.userId);
    return this.latest;
  }

  /**
   * True when the row belongs to this process: no task recorded yet, or ours. False when
   * a launcher has replaced us (it took our lease for dead) or the row went Idle under us.
   */
  owns(row: TaskState): boolean {
    if (row.status === "Idle") return false;
    // Every launch writes a new startedAt: a different one means a later start replaced us.
    if (this.startedAt && row.startedAt && row.startedAt !== this.startedAt) return false;
    return row.taskRef === undefined || this.taskRef === undefined || row.taskRef === this.taskRef;
  }

  /** Remembers the start this process belongs to (the row's startedAt after it took the row). */
  adopt(row: TaskState): void {
    this.startedAt = row.startedAt;
  }

  /**
   * Applies `change` to the latest row. `change` returns the fields to set (a field set
   * to undefined is removed) or undefined to leave the row alone. Returns the row written,
   * or undefined when `change` declined.
   */
  async update(change: (row: TaskState) => RowPatch | undefined): Promise<TaskState | undefined> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const row = this.latest ?? (await this.read());
      const patch = change(row);
      if (!patch) return undefined;
      const { userId: _u, version, ...rest } = row;
      const merged: Record<string, unknown> = { ...rest, ...patch };
      for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
      const written = await this.store.compareAndSet(
        this.userId,
        version,
        merged as Omit<TaskState, "userId" | "version">,
      );
      if (written) {
        this.latest = written;
        return written;
      }
      this.latest = undefined;
    }
    throw new Error("the task-state row kept changing under concurrent writes");
  }

  /**
   * Waits while a previous runtime is still Stopping (it may be uploading state we must
   * restore), unless the lease says that runtime is dead.
   */
  async waitWhileStopping(timeoutMs: number): Promise<TaskState> {
    const until = Date.now() + timeoutMs;
    let row = await this.read();
    while (row.status === "Stopping" && !isStale(row, Date.now()) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      row = await this.read();
    }
    return row;
  }
}
