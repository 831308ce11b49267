import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdapters } from "../../../lib/adapters";
import { AppSyncEventsSubscriber } from "../../../lib/aws/appsync-events-subscriber";
import { agentChannel, type ChatEvent, chatEventSchema, type Message, newId } from "../../../lib/contracts";
import { type AppConfig, loadConfig } from "../../../lib/env";
import { type LocalCloud, startLocalCloud } from "../../../lib/local-cloud/cloud";
import type { EventPublisher, RuntimeLauncher, Subscription } from "../../../lib/ports";
import { sendMessage } from "../../../lib/services/send-message";
import type { RunnerPorts } from "../runner/runner";

/*
 * Test support for the runtime: the real local cloud (dynalite, the events emulator, the
 * filesystem blob store, the encrypted-file secret store) on ephemeral ports, the runner's
 * ports on it, a watcher that records what a browser would receive, and a send the way
 * POST /api/chat does it. The runner's tests, the integration test and the benches use it.
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
  const { chatStore, settingsStore, taskStates, queue, blobs, secrets, publisher, subscriber } =
    createAdapters(config);
  const events = subscriber();
  return {
    chatStore,
    settingsStore,
    taskStates,
    queue,
    blobs,
    secrets,
    publisher,
    subscriber: events,
    close: () => events.close(),
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
 * A launcher for tests that run the runner themselves: the runtime counts as up, so a send
 * only wakes it (a launch, from an Idle row, records a task that is always alive).
 */
const RUNNER_IN_TEST: RuntimeLauncher = {
  launch: async () => ({ taskRef: "test:runner" }),
  isAlive: async () => true,
  stop: async () => undefined,
};

/**
 * Sends a message the way POST /api/chat does, with the runner of the test as the runtime.
 * `lostWake` drops the wake-ups, as if they never reached the runtime.
 */
export async function send(
  ports: RunnerPorts,
  userId: string,
  text: string,
  conversationId?: string,
  opts: { lostWake?: boolean } = {},
): Promise<{ conversationId: string; messageId: string }> {
  const publisher: EventPublisher = {
    publish: (channel, events) =>
      opts.lostWake && channel === agentChannel(userId)
        ? Promise.resolve()
        : ports.publisher.publish(channel, events),
  };
  const res = await sendMessage({ ...pick(ports), publisher, launcher: RUNNER_IN_TEST }, userId, {
    text,
    conversationId,
    idempotencyKey: newId(),
  });
  return { conversationId: res.conversationId, messageId: res.messageId };
}

function pick({ chatStore, queue, taskStates, settingsStore }: RunnerPorts) {
  return { chatStore, queue, taskStates, settingsStore };
}

export function userId(): string {
  return `u-${newId().slice(-20)}`;
}
