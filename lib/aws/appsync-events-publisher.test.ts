import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentEvent, agentChannel, type ChatEvent, MAX_EVENT_BYTES, nowIso } from "../contracts";
import { AppError } from "../errors";
import { type EventsServer, startEventsServer } from "../local-cloud/events";
import { createTestJwtIssuer } from "../testing/test-jwt";
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

  it("sends one publish after another over the same kept-alive connection", async () => {
    const sockets = new Set<unknown>();
    const { url, close } = await plainServer((req, res) => {
      sockets.add(req.socket);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    try {
      const publisher = new AppSyncEventsPublisher({ httpEndpoint: url, region, credentials: creds });
      for (let i = 0; i < 3; i++)
        await publisher.publish(agentChannel(sub), [{ type: "wake", at: nowIso() }]);
      expect(sockets.size).toBe(1);
    } finally {
      await close();
    }
  });

  it("tries again after a 503 and succeeds with the same signed body", async () => {
    const bodies: string[] = [];
    const { url, close } = await plainServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        body += c;
      });
      req.on("end", () => {
        bodies.push(body);
        if (bodies.length === 1)
          res.writeHead(503, { "x-amzn-errortype": "ServiceUnavailableException:" }).end("{}");
        else res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    try {
      const publisher = new AppSyncEventsPublisher({ httpEndpoint: url, region, credentials: creds });
      await publisher.publish(agentChannel(sub), [{ type: "wake", at: nowIso() }]);
      expect(bodies).toHaveLength(2);
      expect(bodies[1]).toBe(bodies[0]);
      expect(JSON.parse(bodies[0] as string)).toMatchObject({ channel: agentChannel(sub) });
    } finally {
      await close();
    }
  });

  it("gives up on a server that never answers after the timeout", async () => {
    const { url, close } = await plainServer((req) => req.resume());
    try {
      const publisher = new AppSyncEventsPublisher({
        httpEndpoint: url,
        region,
        credentials: creds,
        timeoutMs: 200,
        retries: 0,
      });
      const err = await publisher
        .publish(agentChannel(sub), [{ type: "wake", at: nowIso() }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("unavailable");
    } finally {
      await close();
    }
  });
});

/** A bare HTTP server on 127.0.0.1 standing in for AppSync, for transport behaviour. */
async function plainServer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/event`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
