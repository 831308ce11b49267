import { Amplify } from "aws-amplify";
import { events } from "aws-amplify/data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodeAuthSubprotocol } from "../../aws/appsync-events-subscriber";
import { signRealtimeAuthorization, signRequest } from "../../aws/sigv4";
import { installLocalWebSocket } from "../../client/local-websocket";
import { MAX_EVENT_BYTES } from "../../contracts";
import { createTestJwtIssuer } from "../../testing/test-jwt";
import { defaultNamespaces } from "./namespaces";
import { type EventsServer, startEventsServer } from "./server";

/*
 * The emulator driven by the real aws-amplify client (as the browser uses it), plus a raw
 * WebSocket/fetch client where the exact wire shape is what is being checked.
 */

const region = "us-east-1";
const sub = "3f1c2a9e-0000-4000-8000-000000000001";
const other = "3f1c2a9e-0000-4000-8000-000000000002";
const apiKey = "da2-local-test-api-key";
const creds = { accessKeyId: "TESTKEYEVENTSSERVER1", secretAccessKey: "events-server-test-secret" };
const jwt = createTestJwtIssuer();
const goodToken = jwt.mint(sub);
const forgedToken = jwt.mint(sub, { key: jwt.forgeryKey });
const logLines: string[] = [];

/** What Amplify's token and credentials providers hand out right now. */
const state = { token: goodToken, creds: { ...creds } };

let server: EventsServer;
let restoreWebSocket: () => void;
/**
 * aws-amplify closes its shared socket 1 s after the last channel closes; a channel kept
 * open for the whole file stops that from racing with tests that swap credentials.
 */
let anchor: Awaited<ReturnType<typeof events.connect>> | undefined;

beforeAll(async () => {
  server = await startEventsServer({
    region,
    apiKey,
    iamCredentials: [creds],
    verifyUserToken: jwt.verifyUserToken,
    namespaces: {
      ...defaultNamespaces(),
      // The only namespace that takes the API key, so the key path can be tested.
      public: { subscribeAuthModes: ["API_KEY"], publishAuthModes: ["API_KEY"] },
    },
    log: (line) => logLines.push(line),
  });
  restoreWebSocket = installLocalWebSocket();
  Amplify.configure(
    { API: { Events: { endpoint: server.httpEndpoint, region, defaultAuthMode: "userPool" } } },
    {
      Auth: {
        tokenProvider: {
          getTokens: async () => ({
            accessToken: { toString: () => state.token, payload: { sub, token_use: "access" } },
          }),
        },
        credentialsProvider: {
          getCredentialsAndIdentityId: async () => ({ credentials: { ...state.creds } }),
          clearCredentialsAndIdentityId: () => {},
        },
      },
    },
  );
  anchor = await events.connect(`/chat/${sub}/anchor`);
});

afterAll(async () => {
  await anchor?.close();
  await events.closeAll().catch(() => {});
  restoreWebSocket?.();
  await server?.close();
});

// ------------------------------------------------------------------ helpers

type Received = { event: unknown }[];

/** events.connect + subscribe; `ready` settles with "ok" or the error message aws-amplify reports. */
async function amplifySubscribe(
  channel: string,
  opts: { authMode?: "iam" | "userPool" | "apiKey"; apiKey?: string } = {},
) {
  const ch = await events.connect(channel, opts);
  const got: Received = [];
  const errors: string[] = [];
  const s = ch.subscribe(
    { next: (d) => got.push(d as { event: unknown }), error: (e: unknown) => errors.push(JSON.stringify(e)) },
    opts,
  ) as unknown as { ready: Promise<unknown> };
  const ready = await s.ready.then(
    () => "ok",
    (e: Error) => e.message,
  );
  return { ch, got, errors, ready };
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The RestApiError aws-amplify throws for a non-2xx publish, reduced to what AWS sent. */
async function postError(channel: string, event: unknown, options: Record<string, unknown>) {
  const err = (await events.post(channel, event as never, options).then(
    () => undefined,
    (e: unknown) => e,
  )) as
    | { name: string; response?: { statusCode: number; headers: Record<string, string>; body: string } }
    | undefined;
  if (!err) throw new Error(`publish to ${channel} unexpectedly succeeded`);
  return {
    name: err.name,
    status: err.response?.statusCode,
    header: err.response?.headers["x-amzn-errortype"],
    body: JSON.parse(err.response?.body ?? "{}") as { errors: { errorType: string; message: string }[] },
  };
}

const host = () => new URL(server.httpEndpoint).host;
const apiKeyAuth = (key: string) => ({ host: host(), "x-amz-date": "20260101T000000Z", "x-api-key": key });
const iamAuth = (body: string, credentials = creds) =>
  signRealtimeAuthorization({ httpEndpoint: server.httpEndpoint, region, credentials, body });

/** A bare protocol client: every server message is queued for `next`. */
async function rawConnect(auth: Record<string, string> | undefined) {
  const protocols = ["aws-appsync-event-ws", ...(auth ? [encodeAuthSubprotocol(auth)] : [])];
  const ws = new WebSocket(server.realtimeEndpoint, protocols);
  const queue: Record<string, unknown>[] = [];
  ws.on("message", (d) => queue.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const next = async (type?: string) => {
    const start = Date.now();
    for (;;) {
      const i = queue.findIndex((m) => m.type !== "ka" && (!type || m.type === type));
      if (i >= 0) return queue.splice(i, 1)[0] as Record<string, unknown>;
      if (Date.now() - start > 5_000)
        throw new Error(`no ${type ?? "message"}; have ${JSON.stringify(queue)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  ws.send(JSON.stringify({ type: "connection_init" }));
  return { ws, next, queue, protocol: ws.protocol, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}

async function rawPost(body: string, headers: Record<string, string>) {
  const res = await fetch(server.httpEndpoint, { method: "POST", headers, body });
  return { status: res.status, header: res.headers.get("x-amzn-errortype"), json: await res.json() };
}

// ------------------------------------------------------------------ tests

describe("subscribe and publish with aws-amplify", () => {
  it("delivers an HTTP publish (IAM) to an exact Cognito subscription, in order", async () => {
    const channel = `/chat/${sub}/exact`;
    const s = await amplifySubscribe(channel);
    expect(s.ready).toBe("ok");
    await events.post(channel, { n: 1 }, { authMode: "iam" });
    await events.post(channel, [{ n: 2 }, { n: 3 }], { authMode: "iam" });
    await until(() => s.got.length === 3, "three events");
    expect(s.got.map((d) => d.event)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await s.ch.close();
  });

  it("delivers sub-channels to a wildcard subscription, and nothing of other users", async () => {
    const s = await amplifySubscribe(`/chat/${sub}/*`);
    expect(s.ready).toBe("ok");
    await events.post(`/chat/${other}/x`, { who: "other" }, { authMode: "iam" });
    await events.post(`/chat/${sub}x/y`, { who: "prefix-lookalike" }, { authMode: "iam" });
    await events.post(`/chat/${sub}/x`, { n: 1 }, { authMode: "iam" });
    await events.post(`/chat/${sub}/status`, { n: 2 }, { authMode: "iam" });
    await events.post(`/chat/${sub}/a/b`, { n: 3 }, { authMode: "iam" });
    await until(() => s.got.length === 3, "three events");
    await new Promise((r) => setTimeout(r, 100));
    expect(s.got.map((d) => d.event)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await s.ch.close();
  });

  it("publishes over the WebSocket with IAM, and refuses a Cognito publish", async () => {
    const channel = `/chat/${sub}/ws-publish`;
    const s = await amplifySubscribe(channel);
    await s.ch.publish({ via: "ws" }, { authMode: "iam" });
    await until(() => s.got.length === 1, "the event");
    expect(s.got[0]?.event).toEqual({ via: "ws" });
    await expect(s.ch.publish({ via: "browser" })).rejects.toThrow("Publish errors: UnauthorizedException");
    await s.ch.close();
  });

  it("refuses an HTTP publish with a valid JWT: the browser publishes nowhere", async () => {
    const e = await postError(`/chat/${sub}/x`, { n: 1 }, { authMode: "userPool" });
    expect(e).toMatchObject({ name: "UnauthorizedException", status: 401, header: "UnauthorizedException" });
    expect(e.body.errors[0]).toEqual({
      errorType: "UnauthorizedException",
      message:
        "You are not authorized to make this call. (AMAZON_COGNITO_USER_POOLS may not publish to namespace chat)",
    });
  });
});

describe("the per-user chat rule", () => {
  it.each([`/chat/${sub}`, `/chat/${sub}/x`, `/chat/${sub}/*`])("allows %s", async (channel) => {
    const s = await amplifySubscribe(channel);
    expect(s.ready).toBe("ok");
    await s.ch.close();
  });

  it.each([`/chat/${other}/x`, "/chat/*", `/chat/${sub}evil/x`, `/chat/${sub}-evil/x`])(
    "denies %s with errorType Unauthorized",
    async (channel) => {
      const s = await amplifySubscribe(channel);
      expect(s.ready).toBe("Connection failed: Unauthorized: Unauthorized");
      expect(s.errors).toHaveLength(1);
      await s.ch.close();
    },
  );

  it("answers the exact subscribe_error frame, and the socket stays usable", async () => {
    const c = await rawConnect({ Authorization: goodToken, host: host() });
    await c.next("connection_ack");
    c.send({
      type: "subscribe",
      id: "deny-1",
      channel: `/chat/${other}/x`,
      authorization: { Authorization: goodToken, host: host() },
    });
    expect(await c.next()).toEqual({
      type: "subscribe_error",
      id: "deny-1",
      errors: [{ errorType: "Unauthorized", message: "Unauthorized" }],
    });
    c.send({
      type: "subscribe",
      id: "ok-1",
      channel: `/chat/${sub}/x`,
      authorization: { Authorization: goodToken, host: host() },
    });
    expect(await c.next()).toEqual({ type: "subscribe_success", id: "ok-1" });
    c.ws.close();
  });

  it("keeps a Cognito user out of the agent namespace (IAM only)", async () => {
    const s = await amplifySubscribe(`/agent/${sub}`);
    expect(s.ready).toMatch(
      /^Connection failed: UnauthorizedException: .*AMAZON_COGNITO_USER_POOLS may not subscribe to namespace agent/,
    );
    await s.ch.close();
    const iam = await amplifySubscribe(`/agent/${sub}`, { authMode: "iam" });
    expect(iam.ready).toBe("ok");
    await iam.ch.close();
  });
});

describe("credentials", () => {
  it("rejects a bad API key over HTTP with AWS's error shape, and accepts the right one", async () => {
    const e = await postError("/public/x", { n: 1 }, { authMode: "apiKey", apiKey: "da2-wrong" });
    expect(e).toMatchObject({ name: "UnauthorizedException", status: 401, header: "UnauthorizedException" });
    expect(e.body).toEqual({
      errors: [
        {
          errorType: "UnauthorizedException",
          message: "You are not authorized to make this call. (invalid API key)",
        },
      ],
    });
    await expect(events.post("/public/x", { n: 1 }, { authMode: "apiKey", apiKey })).resolves.toBeUndefined();
  });

  it("rejects a bad API key on connect with connection_error", async () => {
    const bad = await rawConnect(apiKeyAuth("da2-wrong"));
    expect(bad.protocol).toBe("aws-appsync-event-ws");
    expect(await bad.next()).toEqual({
      type: "connection_error",
      errors: [
        {
          errorType: "UnauthorizedException",
          message: "You are not authorized to make this call. (invalid API key)",
        },
      ],
    });
    const good = await rawConnect(apiKeyAuth(apiKey));
    expect(await good.next()).toEqual({ type: "connection_ack", connectionTimeoutMs: 300_000 });
    good.send({ type: "subscribe", id: "k1", channel: "/public/x", authorization: apiKeyAuth("da2-wrong") });
    expect(await good.next()).toMatchObject({
      type: "subscribe_error",
      id: "k1",
      errors: [{ errorType: "UnauthorizedException" }],
    });
    good.ws.close();
  });

  it("rejects a JWT signed by another key, over HTTP and on subscribe", async () => {
    state.token = forgedToken;
    try {
      const e = await postError(`/chat/${sub}/x`, { n: 1 }, { authMode: "userPool" });
      expect(e).toMatchObject({
        name: "UnauthorizedException",
        status: 401,
        header: "UnauthorizedException",
      });
      expect(e.body.errors).toEqual([
        {
          errorType: "UnauthorizedException",
          message: "You are not authorized to make this call. (invalid or expired token)",
        },
      ]);
      // The socket is already open with a good token; the subscribe carries the forged one.
      const s = await amplifySubscribe(`/chat/${sub}/forged`);
      expect(s.ready).toBe(
        "Connection failed: UnauthorizedException: You are not authorized to make this call. (invalid or expired token)",
      );
      await s.ch.close();
    } finally {
      state.token = goodToken;
    }
  });

  it("rejects an expired JWT and a missing one on connect", async () => {
    const expired = await rawConnect({
      Authorization: jwt.mint(sub, { expiresInSeconds: -60 }),
      host: host(),
    });
    expect(await expired.next()).toMatchObject({
      type: "connection_error",
      errors: [{ errorType: "UnauthorizedException" }],
    });
    const none = await rawConnect(undefined);
    expect(await none.next()).toEqual({
      type: "connection_error",
      errors: [
        {
          errorType: "UnauthorizedException",
          message: "You are not authorized to make this call. (missing authorization subprotocol)",
        },
      ],
    });
  });

  it("rejects a SigV4 signature made with the wrong secret (aws-amplify, HTTP)", async () => {
    state.creds = { ...creds, secretAccessKey: "not-the-secret" };
    try {
      const e = await postError(`/chat/${sub}/x`, { n: 1 }, { authMode: "iam" });
      expect(e).toMatchObject({
        name: "UnauthorizedException",
        status: 401,
        header: "UnauthorizedException",
      });
      expect(e.body.errors[0]?.message).toBe(
        "You are not authorized to make this call. (IAM: the request signature does not match)",
      );
    } finally {
      state.creds = { ...creds };
    }
  });

  it("rejects a SigV4 signature whose body was changed after signing", async () => {
    const signed = JSON.stringify({ channel: `/chat/${sub}/x`, events: ['{"n":1}'] });
    const headers = await signRequest({
      method: "POST",
      url: server.httpEndpoint,
      body: signed,
      region,
      credentials: creds,
    });
    delete headers.host;
    const ok = await rawPost(signed, headers);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ failed: [], successful: [{ index: 0 }] });
    const tampered = await rawPost(signed.replace("/x", "/y"), headers);
    expect(tampered).toMatchObject({
      status: 401,
      header: "UnauthorizedException",
      json: { errors: [{ errorType: "UnauthorizedException" }] },
    });
  });

  it("rejects a subscribe signature replayed for another channel, and an unknown access key", async () => {
    const c = await rawConnect(await iamAuth("{}"));
    expect(await c.next()).toMatchObject({ type: "connection_ack" });
    const forOwn = await iamAuth(JSON.stringify({ channel: `/agent/${sub}` }));
    c.send({ type: "subscribe", id: "r1", channel: `/agent/${other}`, authorization: forOwn });
    expect(await c.next()).toEqual({
      type: "subscribe_error",
      id: "r1",
      errors: [
        {
          errorType: "UnauthorizedException",
          message: "You are not authorized to make this call. (IAM: the request signature does not match)",
        },
      ],
    });
    const stranger = await iamAuth(JSON.stringify({ channel: `/agent/${sub}` }), {
      accessKeyId: "TESTKEYSTRANGER00000",
      secretAccessKey: "x",
    });
    c.send({ type: "subscribe", id: "r2", channel: `/agent/${sub}`, authorization: stranger });
    expect(await c.next()).toMatchObject({
      type: "subscribe_error",
      id: "r2",
      errors: [{ errorType: "UnauthorizedException" }],
    });
    c.send({ type: "subscribe", id: "r3", channel: `/agent/${sub}`, authorization: forOwn });
    expect(await c.next()).toEqual({ type: "subscribe_success", id: "r3" });
    c.ws.close();
  });
});

describe("limits and channel validation", () => {
  it("rejects 6 events in one publish, over HTTP and over the WebSocket", async () => {
    const six = [1, 2, 3, 4, 5, 6].map((n) => ({ n }));
    const e = await postError(`/chat/${sub}/x`, six, { authMode: "iam" });
    expect(e).toMatchObject({ name: "BadRequestException", status: 400, header: "BadRequestException" });
    expect(e.body.errors).toEqual([
      { errorType: "BadRequestException", message: "A publish must contain between 1 and 5 events, got 6" },
    ]);
    const s = await amplifySubscribe(`/chat/${sub}/six`);
    await expect(s.ch.publish(six, { authMode: "iam" })).rejects.toThrow(
      "Publish errors: BadRequestException",
    );
    await s.ch.close();
    expect(s.got).toEqual([]);
  });

  it("rejects a 241 KB event and accepts one of exactly 240 KB", async () => {
    const overhead = JSON.stringify({ t: "" }).length;
    const atLimit = { t: "x".repeat(MAX_EVENT_BYTES - overhead) };
    expect(JSON.stringify(atLimit).length).toBe(MAX_EVENT_BYTES);
    const s = await amplifySubscribe(`/chat/${sub}/big`);
    await events.post(`/chat/${sub}/big`, atLimit, { authMode: "iam" });
    await until(() => s.got.length === 1, "the 240 KB event");
    const big = { t: "x".repeat(241 * 1024) };
    const e = await postError(`/chat/${sub}/big`, big, { authMode: "iam" });
    expect(e).toMatchObject({ name: "BadRequestException", status: 400, header: "BadRequestException" });
    expect(e.body.errors[0]?.message).toBe(
      `Event at index 0 is ${241 * 1024 + overhead} bytes; the limit is 245760 bytes`,
    );
    await s.ch.close();
  });

  it("rejects a 6-segment channel on publish and on subscribe", async () => {
    const channel = `/chat/${sub}/a/b/c/d`;
    const e = await postError(channel, { n: 1 }, { authMode: "iam" });
    expect(e).toMatchObject({ name: "BadRequestException", status: 400, header: "BadRequestException" });
    expect(e.body.errors[0]?.message).toBe(`Invalid channel "${channel}": channel has more than 5 segments`);
    const s = await amplifySubscribe(channel);
    expect(s.ready).toBe(
      `Connection failed: BadRequestException: Invalid channel "${channel}": channel has more than 5 segments`,
    );
    await s.ch.close();
  });

  it("rejects wildcards on publish, bad characters and unknown namespaces", async () => {
    for (const [channel, message] of [
      [`/chat/${sub}/*`, `Invalid channel "/chat/${sub}/*": wildcards are only allowed when subscribing`],
      [`/chat/${sub}/a_b`, `Invalid channel "/chat/${sub}/a_b": invalid channel segment "a_b"`],
      ["/nowhere/x", 'Namespace "nowhere" does not exist'],
    ] as const) {
      const e = await postError(channel, { n: 1 }, { authMode: "iam" });
      expect(e.body.errors).toEqual([{ errorType: "BadRequestException", message }]);
    }
  });

  it("rejects a body that is not {channel, events} and events that are not JSON", async () => {
    const post = async (body: string) => {
      const headers = await signRequest({
        method: "POST",
        url: server.httpEndpoint,
        body,
        region,
        credentials: creds,
      });
      delete headers.host;
      return rawPost(body, headers);
    };
    expect(await post("not json")).toMatchObject({ status: 400, header: "BadRequestException" });
    expect(await post(JSON.stringify({ channel: "/chat/a/b", events: [1] }))).toMatchObject({ status: 400 });
    const notJson = await post(JSON.stringify({ channel: `/chat/${sub}/x`, events: ["{oops"] }));
    expect(notJson.json).toEqual({
      errors: [{ errorType: "BadRequestException", message: "Event at index 0 is not a valid JSON string" }],
    });
  });
});

describe("protocol details", () => {
  it("acks with connectionTimeoutMs, echoes the subprotocol, unsubscribes and answers unknown ids", async () => {
    const c = await rawConnect(await iamAuth("{}"));
    expect(c.protocol).toBe("aws-appsync-event-ws");
    expect(await c.next()).toEqual({ type: "connection_ack", connectionTimeoutMs: 300_000 });
    c.send({
      type: "subscribe",
      id: "u1",
      channel: `/agent/${sub}`,
      authorization: await iamAuth(JSON.stringify({ channel: `/agent/${sub}` })),
    });
    expect(await c.next()).toEqual({ type: "subscribe_success", id: "u1" });
    const events_ = ['{"type":"wake"}'];
    c.send({
      type: "publish",
      id: "p1",
      channel: `/agent/${sub}`,
      events: events_,
      authorization: await iamAuth(JSON.stringify({ channel: `/agent/${sub}`, events: events_ })),
    });
    const [first, second] = [await c.next(), await c.next()];
    const data = [first, second].find((m) => m?.type === "data");
    const ack = [first, second].find((m) => m?.type === "publish_success");
    expect(data).toEqual({ type: "data", id: "u1", event: '{"type":"wake"}' });
    expect(ack).toMatchObject({ type: "publish_success", id: "p1", failed: [], successful: [{ index: 0 }] });
    c.send({ type: "unsubscribe", id: "u1" });
    expect(await c.next()).toEqual({ type: "unsubscribe_success", id: "u1" });
    c.send({ type: "unsubscribe", id: "u1" });
    expect(await c.next()).toMatchObject({
      type: "unsubscribe_error",
      id: "u1",
      errors: [{ errorType: "UnknownOperationError" }],
    });
    c.send({ type: "bogus" });
    expect(await c.next()).toMatchObject({ type: "error", errors: [{ errorType: "UnsupportedOperation" }] });
    c.ws.close();
  });

  it("sends ka keep-alives", async () => {
    const fast = await startEventsServer({
      region,
      iamCredentials: [creds],
      verifyUserToken: jwt.verifyUserToken,
      keepAliveIntervalMs: 20,
      connectionTimeoutMs: 1_000,
    });
    try {
      const auth = await signRealtimeAuthorization({
        httpEndpoint: fast.httpEndpoint,
        region,
        credentials: creds,
        body: "{}",
      });
      const ws = new WebSocket(fast.realtimeEndpoint, ["aws-appsync-event-ws", encodeAuthSubprotocol(auth)]);
      const types: string[] = [];
      ws.on("message", (d) => types.push(JSON.parse(d.toString()).type));
      ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
      await until(() => types.filter((t) => t === "ka").length >= 3, "three ka messages");
      expect(types[0]).toBe("connection_ack");
      ws.close();
    } finally {
      await fast.close();
    }
  });

  it("refuses an upgrade without the aws-appsync-event-ws subprotocol or on another path", async () => {
    const status = (url: string, protocols: string[]) =>
      new Promise<number | undefined>((resolve) => {
        const ws = new WebSocket(url, protocols);
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
        ws.on("open", () => resolve(101));
        ws.on("error", () => resolve(undefined));
      });
    expect(await status(server.realtimeEndpoint, ["graphql-ws"])).toBe(400);
    expect(
      await status(server.realtimeEndpoint.replace("/event/realtime", "/graphql"), ["aws-appsync-event-ws"]),
    ).toBe(404);
  });

  it("answers a CORS preflight and exposes x-amzn-errortype to browsers", async () => {
    const pre = await fetch(server.httpEndpoint, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-amz-date,x-amz-user-agent",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect(pre.headers.get("access-control-allow-headers")).toBe(
      "authorization,content-type,x-amz-date,x-amz-user-agent",
    );
    const res = await fetch(server.httpEndpoint, {
      method: "POST",
      headers: { origin: "http://localhost:3000" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(res.headers.get("access-control-expose-headers")).toContain("x-amzn-errortype");
  });

  it("answers other paths and methods with AWS-shaped errors", async () => {
    const get = await fetch(server.httpEndpoint);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ errors: [{ errorType: "MethodNotAllowedException" }] });
    const nowhere = await fetch(server.httpEndpoint.replace("/event", "/graphql"), {
      method: "POST",
      body: "{}",
    });
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get("x-amzn-errortype")).toBe("NotFoundException");
  });

  it("rejects a taken port with a clear error instead of hanging", async () => {
    await expect(
      startEventsServer({
        port: server.port,
        region,
        iamCredentials: [],
        verifyUserToken: jwt.verifyUserToken,
      }),
    ).rejects.toThrow(`events server: port ${server.port} on 127.0.0.1 is already in use`);
  });
});

describe("connect failures through aws-amplify (last: they close Amplify's shared socket)", () => {
  it("fails events.connect with a forged JWT", async () => {
    await anchor?.close();
    anchor = undefined;
    await events.closeAll();
    state.token = forgedToken;
    try {
      await expect(events.connect(`/chat/${sub}/x`)).rejects.toThrow("UnauthorizedException");
    } finally {
      state.token = goodToken;
    }
  });

  it("fails events.connect with a bad API key", async () => {
    await events.closeAll();
    await expect(events.connect("/public/x", { authMode: "apiKey", apiKey: "da2-wrong" })).rejects.toThrow(
      "UnauthorizedException",
    );
  });

  it("connects again with good credentials", async () => {
    await events.closeAll();
    const s = await amplifySubscribe(`/chat/${sub}/again`);
    expect(s.ready).toBe("ok");
    await events.post(`/chat/${sub}/again`, { n: 1 }, { authMode: "iam" });
    await until(() => s.got.length === 1, "the event");
    await s.ch.close();
  });
});

describe("logging", () => {
  it("logged the rejections without any secret", () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join("\n");
    for (const secret of [
      apiKey,
      "da2-wrong",
      creds.secretAccessKey,
      "not-the-secret",
      goodToken,
      forgedToken,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
