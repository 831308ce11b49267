import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppSyncEventsSubscriber } from "../../../lib/aws/appsync-events-subscriber";
import { type ChatEvent, chatEventSchema, type Message, newId } from "../../../lib/contracts";
import { type AppConfig, loadConfig } from "../../../lib/env";
import { type LocalCloud, startLocalCloud } from "../../../lib/local-cloud/cloud";
import type { Subscription } from "../../../lib/ports";
import { sendMessage } from "../../../lib/services/send-message";
import { createRunnerPorts } from "../container";
import type { AgentEngine, EngineEvent, EngineSettings, RunRequest } from "../engine";
import { EngineError } from "../engine";
import type { RunnerPorts } from "./runner";

/*
 * Test support for the runner: the real local cloud (dynalite, the events emulator, the
 * filesystem blob store, the encrypted-file secret store) on ephemeral ports, a watcher
 * that records what a browser would receive, and a scriptable AgentEngine. Not a test
 * file itself (no `.test.ts`).
 */

export interface TestCloud {
  cloud: LocalCloud;
  config: AppConfig;
  dir: string;
  close(): Promise<void>;
}

export async function startTestCloud(): Promise<TestCloud> {
  const dir = await mkdtemp(join(tmpdir(), "runner-test-"));
  const cloud = await startLocalCloud({
    stateDir: join(dir, "cloud"),
    ports: { dynamodb: 0, events: 0, cognito: 0 },
  });
  const config = loadConfig({
    APP_MODE: "local",
    LOCAL_CLOUD_FILE: cloud.file,
  } as unknown as NodeJS.ProcessEnv);
  return {
    cloud,
    config,
    dir,
    close: async () => {
      await cloud.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The runner's ports on the test cloud, and a way to close their connections. */
export function testPorts(config: AppConfig): RunnerPorts & { close(): Promise<void> } {
  const ports = createRunnerPorts(config);
  return {
    ...ports,
    close: async () => {
      await (ports.subscriber as AppSyncEventsSubscriber).close();
    },
  };
}

/** Records every event on `/chat/<user>/*`, as a browser tab of that user would see them. */
export class Watcher {
  readonly events: ChatEvent[] = [];
  private subscriber: AppSyncEventsSubscriber;
  private sub: Subscription | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    config: AppConfig,
    private readonly userId: string,
  ) {
    this.subscriber = new AppSyncEventsSubscriber({
      httpEndpoint: config.events.httpEndpoint,
      realtimeEndpoint: config.events.realtimeEndpoint,
      region: config.region,
      auth: { type: "iam", credentials: config.credentials },
    });
  }

  async start(): Promise<this> {
    this.sub = await this.subscriber.subscribe(`/chat/${this.userId}/*`, (raw) => {
      this.events.push(chatEventSchema.parse(raw));
      for (const w of this.waiters.splice(0)) w();
    });
    return this;
  }

  async close(): Promise<void> {
    await this.sub?.close();
    await this.subscriber.close();
  }

  of<T extends ChatEvent["type"]>(type: T): Extract<ChatEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ChatEvent, { type: T }> => e.type === type);
  }

  statuses(): string[] {
    return this.of("status").map((e) => e.state);
  }

  /** Resolves once `predicate` holds for the events so far; rejects after `timeoutMs`. */
  async until(
    predicate: (events: ChatEvent[]) => boolean,
    timeoutMs = 10_000,
    what = "events",
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; got ${this.events.map((e) => e.type).join(",")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  finalFor(messageId: string): Message | undefined {
    return this.of("final").find((e) => e.message.replyTo === messageId)?.message;
  }
}

/**
 * Sends a message the way POST /api/chat does, with a wake-up instead of a launch.
 * `lostWake` leaves the wake-up out, as if it never reached the runtime.
 */
export async function send(
  ports: RunnerPorts,
  userId: string,
  text: string,
  conversationId?: string,
  opts: { lostWake?: boolean } = {},
): Promise<{ conversationId: string; messageId: string }> {
  const res = await sendMessage(
    {
      chatStore: ports.chats,
      queue: ports.queue,
      publisher: ports.publisher,
      // Like ensureRuntime: the wake-up names the queued item.
      ensureRuntime: async (uid, o) => {
        if (opts.lostWake) return;
        await ports.publisher.publish(`/agent/${uid}`, [
          { type: "wake", at: new Date().toISOString(), ...(o?.item ? { item: o.item } : {}) },
        ]);
      },
    },
    userId,
    { text, conversationId, idempotencyKey: newId() },
  );
  return { conversationId: res.conversationId, messageId: res.messageId };
}

export type FakeStep =
  | { delta: string }
  | { phase: string }
  | { tool: { toolCallId: string; name: string; status: "running" | "done" | "error"; summary?: string } }
  | { wait: number }
  | { fail: Error };

export interface FakeRun {
  sessionKey: string;
  text: string;
  startedAt: number;
  endedAt?: number;
  outcome?: "done" | "aborted" | "failed";
}

/**
 * A scriptable AgentEngine: the runner's seam, not a model of OpenClaw. Each run plays the
 * steps `script` returns for it; a wait ends at once with EngineError("aborted") when the
 * run's signal aborts. The reply is the concatenated deltas.
 */
export class FakeEngine implements AgentEngine {
  readonly runs: FakeRun[] = [];
  readonly settings: EngineSettings[] = [];
  warmUps = 0;
  startCalls = 0;
  stopCalls = 0;
  startDelayMs = 0;
  private running = false;
  private readonly inFlight = new Set<AbortController>();
  failStart: Error | undefined;
  /** Called at start(), e.g. to look at the restored state folder. */
  onStart: (() => void | Promise<void>) | undefined;
  script: (text: string) => FakeStep[] = (text) => [
    { phase: "preparing_context" },
    { delta: `echo: ${text}` },
  ];

  constructor(initial?: EngineSettings) {
    if (initial) this.settings.push(initial);
  }

  async start(onStage?: (stage: string) => void): Promise<void> {
    this.startCalls++;
    onStage?.("engine_booting");
    await new Promise((r) => setTimeout(r, this.startDelayMs));
    if (this.failStart) throw this.failStart;
    await this.onStart?.();
    this.running = true;
  }

  async warmUp(): Promise<void> {
    this.warmUps++;
  }

  async run(request: RunRequest): Promise<{ text: string }> {
    const run: FakeRun = { sessionKey: request.sessionKey, text: request.text, startedAt: Date.now() };
    this.runs.push(run);
    if (!this.running) throw new EngineError("runtime_failed", "The agent is not running.");
    const crash = new AbortController();
    this.inFlight.add(crash);
    const signal = AbortSignal.any([request.signal, crash.signal]);
    let text = "";
    try {
      for (const step of this.script(request.text)) {
        if (crash.signal.aborted) throw crash.signal.reason;
        if (request.signal.aborted) throw new EngineError("aborted", "aborted");
        if ("delta" in step) {
          text += step.delta;
          request.onEvent({ type: "delta", text: step.delta });
        } else if ("phase" in step) request.onEvent({ type: "phase", phase: step.phase });
        else if ("tool" in step) request.onEvent({ type: "tool", ...step.tool } satisfies EngineEvent);
        else if ("wait" in step) {
          await abortableSleep(step.wait, signal).catch((err) => {
            throw crash.signal.aborted ? crash.signal.reason : err;
          });
        } else throw step.fail;
      }
      run.outcome = "done";
      return { text };
    } catch (err) {
      run.outcome = err instanceof EngineError && err.code === "aborted" ? "aborted" : "failed";
      throw err;
    } finally {
      run.endedAt = Date.now();
      this.inFlight.delete(crash);
    }
  }

  async applySettings(settings: EngineSettings): Promise<void> {
    this.settings.push(settings);
  }

  async stop(_deadlineMs: number): Promise<void> {
    this.stopCalls++;
    this.running = false;
  }

  /** Like OpenClaw's process dying: runs in progress fail, pids() becomes empty. */
  crash(): void {
    this.running = false;
    for (const c of this.inFlight)
      c.abort(new EngineError("runtime_failed", "The agent process stopped unexpectedly."));
  }

  pids(): number[] {
    return this.running ? [process.pid] : [];
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new EngineError("aborted", "aborted"));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EngineError("aborted", "aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function userId(): string {
  return `u-${newId().slice(-20)}`;
}
