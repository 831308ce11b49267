import { type ChatEvent, MAX_EVENTS_PER_PUBLISH, nowIso } from "../../../lib/contracts";
import { describeError, type Logger } from "./log";

/*
 * Streams one run's events to its conversation channel. Text deltas are coalesced: the
 * engine may emit a token at a time, but a publish goes out at most every `flushMs`
 * (or when the buffer is large), carries at most 5 events, and only one publish is in
 * flight at a time, so a slow publish makes later ones bigger rather than more numerous.
 * The run's first text is the exception: it goes out at once, because the time to the
 * first visible token is what the user waits for (coalescing only pays off later).
 * Every other event flushes the buffered text first, which keeps the order the engine
 * produced.
 */

/**
 * Largest text of one delta event, in UTF-16 units. JSON escaping costs at most 6 bytes
 * per unit (`\u0000`), so 32 000 units stay under AppSync's 240 KB per event.
 */
export const MAX_DELTA_CHARS = 32_000;

export interface ChatStreamOptions {
  runId: string;
  conversationId: string;
  publish: (events: ChatEvent[]) => Promise<void>;
  log: Logger;
  flushMs?: number;
  maxDeltaChars?: number;
}

export class ChatStream {
  private buffer = "";
  private seq = 0;
  private queue: ChatEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private firstDeltaQueued = false;
  private readonly flushMs: number;
  private readonly maxChars: number;
  /** Number of publish calls made (for tests and benchmarks). */
  publishes = 0;

  constructor(private readonly opts: ChatStreamOptions) {
    this.flushMs = opts.flushMs ?? 80;
    this.maxChars = opts.maxDeltaChars ?? MAX_DELTA_CHARS;
  }

  /** Appends reply text; it goes out with the next flush. */
  delta(text: string): void {
    if (!text) return;
    this.buffer += text;
    if (!this.firstDeltaQueued || this.buffer.length >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Queues a non-delta event behind the text buffered so far. */
  event(event: ChatEvent): void {
    this.moveBuffer();
    this.queue.push(event);
    this.pump();
  }

  /** Sends everything buffered and resolves when the last publish has finished. */
  async close(): Promise<void> {
    this.moveBuffer();
    this.pump();
    while (this.sending) await this.sending;
  }

  private flush(): void {
    this.moveBuffer();
    this.pump();
  }

  private moveBuffer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.buffer.length > 0) {
      let cut = Math.min(this.buffer.length, this.maxChars);
      // Never split a surrogate pair across two events.
      const last = this.buffer.charCodeAt(cut - 1);
      if (cut < this.buffer.length && last >= 0xd800 && last <= 0xdbff) cut--;
      const text = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut);
      this.firstDeltaQueued = true;
      this.queue.push({
        type: "delta",
        at: nowIso(),
        runId: this.opts.runId,
        conversationId: this.opts.conversationId,
        seq: this.seq++,
        text,
      });
    }
  }

  private pump(): void {
    if (this.sending || this.queue.length === 0) return;
    this.sending = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_EVENTS_PER_PUBLISH);
        await this.send(batch);
      }
    })().finally(() => {
      this.sending = undefined;
      // Events queued by a flush that ran while the last publish was finishing.
      this.pump();
    });
  }

  private async send(batch: ChatEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.publishes++;
        await this.opts.publish(batch);
        return;
      } catch (err) {
        // The publisher retries throttles and 5xx itself; one more try covers a dropped connection.
        if (attempt >= 2) {
          // The final message is stored either way; a lost delta only costs the live view.
          this.opts.log("warn", "publish failed, events dropped", {
            runId: this.opts.runId,
            events: batch.length,
            error: describeError(err),
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
