import { afterEach, describe, expect, it } from "vitest";
import { agentChannel } from "../contracts";
import { type EventsServer, type EventsServerOptions, startEventsServer } from "../local-cloud/events";
import { createTestJwtIssuer } from "../testing/test-jwt";
import { AppSyncEventsPublisher } from "./appsync-events-publisher";
import {
  AppSyncEventsSubscriber,
  deriveRealtimeEndpoint,
  EventsProtocolError,
} from "./appsync-events-subscriber";

const region = "us-east-1";
const creds = { accessKeyId: "TESTKEYSUBSCRIBER001", secretAccessKey: "subscriber-test-secret" };
const sub = "3f1c2a9e-0000-4000-8000-00000000000b";
const jwt = createTestJwtIssuer();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(extra: Partial<EventsServerOptions> = {}) {
  const server: EventsServer = await startEventsServer({
    region,
    iamCredentials: [creds],
    verifyUserToken: jwt.verifyUserToken,
    ...extra,
  });
  cleanups.push(() => server.close());
  const publisher = new AppSyncEventsPublisher({
    httpEndpoint: server.httpEndpoint,
    region,
    credentials: creds,
  });
  return { server, publisher };
}

function newSubscriber(
  server: EventsServer,
  opts: Partial<ConstructorParameters<typeof AppSyncEventsSubscriber>[0]> = {},
) {
  const s = new AppSyncEventsSubscriber({
    httpEndpoint: server.httpEndpoint,
    realtimeEndpoint: server.realtimeEndpoint,
    region,
    credentials: creds,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
    ...opts,
  });
  cleanups.push(() => s.close());
  return s;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("AppSyncEventsSubscriber", () => {
  it("receives events on an IAM subscription to /agent/<sub>", async () => {
    const { server, publisher } = await setup();
    const subscriber = newSubscriber(server);
    const got: unknown[] = [];
    await subscriber.subscribe(agentChannel(sub), (e) => got.push(e));
    await publisher.publish(agentChannel(sub), [{ type: "wake", at: "2026-01-01T00:00:00.000Z" }]);
    await until(() => got.length === 1, "the event");
    expect(got).toEqual([{ type: "wake", at: "2026-01-01T00:00:00.000Z" }]);
  });

  it("reconnects and resubscribes after the server drops the socket", async () => {
    const { server, publisher } = await setup();
    let reconnects = 0;
    const subscriber = newSubscriber(server, { onReconnect: () => reconnects++ });
    const got: { n: number }[] = [];
    await subscriber.subscribe(`/chat/${sub}/*`, (e) => got.push(e as { n: number }));
    await publisher.publishRaw(`/chat/${sub}/a`, [JSON.stringify({ n: 1 })]);
    await until(() => got.length === 1, "the first event");

    expect(server.disconnectAll()).toBe(1);
    await until(() => reconnects === 1, "the reconnect");
    expect(server.connectionCount()).toBe(1);
    await publisher.publishRaw(`/chat/${sub}/b`, [JSON.stringify({ n: 2 }), JSON.stringify({ n: 3 })]);
    await until(() => got.length === 3, "the events after the reconnect");
    expect(got.map((e) => e.n)).toEqual([1, 2, 3]);
  });

  it("restores every subscription after a drop, and a subscription made during the outage", async () => {
    const { server, publisher } = await setup();
    let reconnects = 0;
    const subscriber = newSubscriber(server, { onReconnect: () => reconnects++ });
    const a: unknown[] = [];
    const b: unknown[] = [];
    await subscriber.subscribe(agentChannel(sub), (e) => a.push(e));
    await subscriber.subscribe(`/chat/${sub}/status`, (e) => b.push(e));
    server.disconnectAll();
    const c: unknown[] = [];
    await subscriber.subscribe(`/chat/${sub}/c`, (e) => c.push(e));
    await until(() => reconnects >= 1, "the reconnect");
    await publisher.publishRaw(agentChannel(sub), ["1"]);
    await publisher.publishRaw(`/chat/${sub}/status`, ["2"]);
    await publisher.publishRaw(`/chat/${sub}/c`, ["3"]);
    await until(() => a.length + b.length + c.length === 3, "one event on each subscription");
    expect([a, b, c]).toEqual([[1], [2], [3]]);
    expect(server.connectionCount()).toBe(1);
  });

  it("reconnects when keep-alives stop arriving", async () => {
    // connection_ack promises a message at least every 300 ms, but ka comes every 60 s.
    const { server } = await setup({ connectionTimeoutMs: 300, keepAliveIntervalMs: 60_000 });
    let reconnects = 0;
    const subscriber = newSubscriber(server, { onReconnect: () => reconnects++ });
    await subscriber.subscribe(agentChannel(sub), () => {});
    await until(() => reconnects >= 1, "a watchdog reconnect");
  });

  it("stays connected while keep-alives arrive", async () => {
    const { server, publisher } = await setup({ connectionTimeoutMs: 300, keepAliveIntervalMs: 50 });
    let reconnects = 0;
    const subscriber = newSubscriber(server, { onReconnect: () => reconnects++ });
    const got: unknown[] = [];
    await subscriber.subscribe(agentChannel(sub), (e) => got.push(e));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(reconnects).toBe(0);
    await publisher.publishRaw(agentChannel(sub), ["1"]);
    await until(() => got.length === 1, "the event");
  });

  it("rejects a subscription the namespace does not allow, with AWS's errorType", async () => {
    const { server } = await setup();
    const subscriber = newSubscriber(server);
    const err = await subscriber.subscribe("/nowhere/x", () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventsProtocolError);
    expect((err as EventsProtocolError).errorType).toBe("BadRequestException");
  });

  it("speaks Cognito too: own chat paths allowed, others refused with errorType Unauthorized", async () => {
    const { server, publisher } = await setup();
    const subscriber = newSubscriber(server, { auth: { type: "userPool", token: () => jwt.mint(sub) } });
    const got: unknown[] = [];
    await subscriber.subscribe(`/chat/${sub}/*`, (e) => got.push(e));
    const denied = await subscriber.subscribe("/chat/*", () => {}).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(EventsProtocolError);
    expect((denied as EventsProtocolError).errorType).toBe("Unauthorized");
    await publisher.publishRaw(`/chat/${sub}/x`, ['{"ok":true}']);
    await until(() => got.length === 1, "the event");
  });

  it("rejects subscribe when nothing listens, after a few attempts", async () => {
    const { server } = await setup();
    const subscriber = newSubscriber(server);
    await server.close();
    await expect(subscriber.subscribe(agentChannel(sub), () => {})).rejects.toThrow(/WebSocket to .* failed/);
  });

  it("fails to connect with a wrong secret (connection_error UnauthorizedException)", async () => {
    const { server } = await setup();
    const subscriber = newSubscriber(server, {
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: "wrong" },
    });
    const err = await subscriber.subscribe(agentChannel(sub), () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventsProtocolError);
    expect((err as EventsProtocolError).errorType).toBe("UnauthorizedException");
  });

  it("stops delivering after Subscription.close and stops reconnecting after close()", async () => {
    const { server, publisher } = await setup();
    const subscriber = newSubscriber(server);
    const got: unknown[] = [];
    const other: unknown[] = [];
    const s = await subscriber.subscribe(agentChannel(sub), (e) => got.push(e));
    await subscriber.subscribe(`/agent/${sub}-2`, (e) => other.push(e));
    await s.close();
    await publisher.publishRaw(agentChannel(sub), ["1"]);
    await publisher.publishRaw(`/agent/${sub}-2`, ["2"]);
    await until(() => other.length === 1, "the other subscription's event");
    expect(got).toEqual([]);
    await subscriber.close();
    await until(() => server.connectionCount() === 0, "the socket to close");
    await new Promise((r) => setTimeout(r, 300));
    expect(server.connectionCount()).toBe(0);
  });
});

describe("deriveRealtimeEndpoint", () => {
  it.each([
    [
      "https://abc.appsync-api.us-east-1.amazonaws.com/event",
      "wss://abc.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
    ],
    ["http://127.0.0.1:4311/event", "ws://127.0.0.1:4311/event/realtime"],
    ["https://events.example.com/event", "wss://events.example.com/event/realtime"],
  ])("%s -> %s", (http, ws) => {
    expect(deriveRealtimeEndpoint(http)).toBe(ws);
  });
});
