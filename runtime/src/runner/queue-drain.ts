import { type PendingItem, replyIdFor } from "../../../lib/contracts";
import type { Lookup, RunnerCore } from "./core";
import { describeError } from "./log";

/*
 * Taking work from the pending queue: a wake-up, the safety poll, the end of a run and a
 * retry's backoff all do the same thing: list the queue and claim the oldest item of each
 * conversation that has no run in progress. One drain runs at a time; a call during one
 * makes it go round once more.
 */

export class QueueDrain {
  private draining = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;

  constructor(
    private readonly core: RunnerCore,
    /** Starts the run of an item this runner has just claimed. */
    private readonly startTurn: (item: PendingItem, lookup: Lookup) => void,
    /** Replaces a dead engine; the recovery drains again once the new one is up. */
    private readonly recoverEngine: () => void,
  ) {}

  get busy(): boolean {
    return this.draining;
  }

  async drain(): Promise<void> {
    if (this.core.phase !== "running") return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        await this.drainOnce();
      } while (this.again && this.core.phase === "running");
    } catch (err) {
      this.core.log("warn", "draining the queue failed", { error: describeError(err) });
    } finally {
      this.draining = false;
    }
  }

  /** Schedules one extra drain; an earlier one already scheduled wins. */
  drainAt(when: number): void {
    if (this.retryTimer && this.retryAt <= when) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = when;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void this.drain();
      },
      Math.max(0, when - Date.now()),
    );
  }

  /** Drops a scheduled drain (shutdown). */
  cancel(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async drainOnce(): Promise<void> {
    const { core } = this;
    const { userId, workerId, leaseMs, maxConcurrentRuns } = core.opts;
    if (core.engineDead()) {
      // Its process ended between turns: a run now could only fail and cost an attempt.
      core.log("warn", "the engine's process has ended; restarting it before the next turn");
      this.recoverEngine();
      return;
    }
    const items = await core.ports.queue.list(userId);
    const heads = new Map<string, PendingItem>();
    for (const item of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
      if (!heads.has(item.conversationId)) heads.set(item.conversationId, item);
    let nextLeaseExpiry = Number.POSITIVE_INFINITY;
    for (const head of heads.values()) {
      if (core.phase !== "running" || core.active.size >= maxConcurrentRuns) break;
      if (core.active.has(head.conversationId)) continue;
      const leaseUntil = head.leaseUntil ? Date.parse(head.leaseUntil) : 0;
      if (head.claimedBy && head.claimedBy !== workerId && leaseUntil > Date.now()) {
        // Another (probably dead) worker holds it; its lease expiry is when to look again.
        nextLeaseExpiry = Math.min(nextLeaseExpiry, leaseUntil);
        continue;
      }
      // What the run reads first does not depend on the claim: read it during the claim, as
      // both stand between the user and the first token. The reply is stored put-once, so a
      // reply stored by another worker after this read still cannot be stored twice.
      const lookup = this.lookup(head);
      lookup.catch(() => undefined); // a failed read surfaces in the run; unclaimed, it is moot
      const claimed = await core.ports.queue.claim(userId, head.id, workerId, new Date(Date.now() + leaseMs));
      if (!claimed) continue;
      if (core.phase === "running" && !core.active.has(claimed.conversationId)) {
        this.startTurn(claimed, lookup);
      } else await core.ports.queue.release(userId, claimed.id, workerId);
    }
    if (Number.isFinite(nextLeaseExpiry)) this.drainAt(nextLeaseExpiry + 250);
  }

  /** One read for both: does the conversation still exist, and is a reply already stored. */
  private async lookup(item: PendingItem): Lookup {
    const { conversation, message } = await this.core.ports.chatStore.getConversationAndMessage(
      this.core.opts.userId,
      item.conversationId,
      replyIdFor(item.messageId),
    );
    return { ...(message ? { reply: message } : {}), conversationExists: conversation !== undefined };
  }
}
