import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentEvent, agentChannel, type ChatEvent, MAX_EVENT_BYTES, nowIso } from "../contracts";
import { AppError } from "../errors";
import { type EventsServer, startEventsServer } from "../local/events";
import { createTestJwtIssuer } from "../local/events/test-jwt";
import { AppSyncEventsPublisher } from "./appsync-events-publisher";
import { AppSyncEventsSubscriber } from "./appsync-events-subscriber";

const region = "us-east-1";
const creds = { accessKeyId: "TESTKEYPUBLISHER0001", secretAccessKey: "publisher-test-secret" };
const sub = "3f1c2a9e-0000-4000-8000-00000000000a";
const jwt = createTestJwtIssuer();
const publishes: { channel: string; events: number; via: string }[] = [];
let server: EventsServer;
let subscriber: AppSyncEventsSubscriber;

beforeAll(async () => {
  server = await startEventsServer({
    region,
    iamCredentials: [creds],
    verifyUserToken: jwt.verifyUserToken,
    onPublish: (p) => publishes.push({ channel: p.channel, events: p.events, via: p.via }),
  });
  subscriber = new AppSyncEventsSubscriber({
    httpEndpoint: server.httpEndpoint,
    realtimeEndpoint: server.realtimeEndpoint,
    region,
    credentials: creds,
  });
});

afterAll(async () => {
  await subscriber?.close();
  await server?.close();
});

function collect() {
  const got: unknown[] = [];
  const waitFor = async (n: number, timeoutMs = 5_000) => {
    const start = Date.now();
    while (got.length < n) {
      if (Date.now() - start > timeoutMs) throw new Error(`got ${got.length} of ${n} events`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return got;
  };
  return { got, waitFor, onEvent: (e: unknown) => got.push(e) };
}

describe("AppSyncEventsPublisher", () => {
  it("splits 12 events into 3 signed requests of 5, 5 and 2, delivered in order", async () => {
    const channel = `/chat/${sub}/batching`;
    const c = collect();
    const s = await subscriber.subscribe(channel, c.onEvent);
    const publisher = new AppSyncEventsPublisher({
      httpEndpoint: server.httpEndpoint,
      region,
      credentials: creds,
    });
    const events: ChatEvent[] = Array.from({ length: 12 }, (_, seq) => ({
      type: "delta",
      at: nowIso(),
      runId: "run-1",
      conversationId: "batching",
      seq,
      text: `chunk ${seq}`,
    }));
    publishes.length = 0;
    await publisher.publish(channel, events);
    expect(publishes).toEqual([
      { channel, events: 5, via: "http" },
      { channel, events: 5, via: "http" },
      { channel, events: 2, via: "http" },
    ]);
    const got = await c.waitFor(12);
    expect(got.map((e) => (e as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await s.close();
  });

  it("refuses an event over 240 KB before sending anything", async () => {
    const publisher = new AppSyncEventsPublisher({
      httpEndpoint: server.httpEndpoint,
      region,
      credentials: creds,
    });
    const small: AgentEvent = { type: "wake", at: nowIso() };
    const big: AgentEvent = { type: "shutdown", at: nowIso(), reason: "x".repeat(MAX_EVENT_BYTES) };
    publishes.length = 0;
    const err = await publisher.publish(agentChannel(sub), [small, big]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("payload_too_large");
    expect((err as AppError).message).toMatch(
      /event 1 .* bytes; AppSync Events accepts at most 245760 bytes/,
    );
    expect(publishes).toEqual([]);
  });

  it("surfaces AWS's error shape when the signature is wrong", async () => {
    const publisher = new AppSyncEventsPublisher({
      httpEndpoint: server.httpEndpoint,
      region,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: "not-the-secret" },
    });
    const err = await publisher
      .publish(agentChannel(sub), [{ type: "wake", at: nowIso() }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/401 UnauthorizedException: You are not authorized/);
    expect((err as AppError).details).toMatchObject({ status: 401, errorType: "UnauthorizedException" });
    expect((err as AppError).message).not.toContain("not-the-secret");
  });

  it("surfaces a BadRequestException for an invalid channel", async () => {
    const publisher = new AppSyncEventsPublisher({
      httpEndpoint: server.httpEndpoint,
      region,
      credentials: creds,
    });
    const err = await publisher
      .publish("/chat/a/b/c/d/e", [{ type: "wake", at: nowIso() }])
      .catch((e: unknown) => e);
    expect((err as AppError).details).toMatchObject({ status: 400, errorType: "BadRequestException" });
  });

  it("reports a server that is not there as unavailable", async () => {
    const gone = await startEventsServer({
      region,
      iamCredentials: [creds],
      verifyUserToken: jwt.verifyUserToken,
    });
    const endpoint = gone.httpEndpoint;
    await gone.close();
    const publisher = new AppSyncEventsPublisher({
      httpEndpoint: endpoint,
      region,
      credentials: creds,
      retries: 0,
    });
    const err = await publisher
      .publish(agentChannel(sub), [{ type: "wake", at: nowIso() }])
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe("unavailable");
  });
});
