import { randomUUID } from "node:crypto";
import { globSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Adapters, createAdapters } from "@/lib/adapters";
import { createDynamoClient } from "@/lib/aws/dynamo-client";
import { type AgentEvent, type ChatEvent, LIMITS, type Message, newId, replyIdFor } from "@/lib/contracts";
import { type AppConfig, configFromLocalCloud } from "@/lib/env";
import type { Route } from "@/lib/http/route";
import { type LocalCloud, startLocalCloud } from "@/lib/local-cloud/cloud";
import {
  conversationIdSchema,
  messagesQuerySchema,
  pageQuerySchema,
  renameSchema,
} from "@/lib/services/conversations";
import { retryParamsSchema } from "@/lib/services/retry-run";
import { sendMessageSchema } from "@/lib/services/send-message";
import { updateSettingsSchema } from "@/lib/services/settings";
import { createTestUser, RecordingLauncher, signInForTest } from "@/lib/testing/services";
import { changedKeys, type StoreSnapshot, snapshotStores } from "@/lib/testing/store-snapshot";
import {
  cognitoLocalKeys,
  createTestJwtIssuer,
  mintCognitoLocalToken,
  signJwt,
} from "@/lib/testing/test-jwt";
import { fieldCases, type Location, withField } from "@/lib/testing/zod-cases";

/*
 * Bad input on every route handler under app/api, found by a glob so that a new route
 * cannot be left out: a route with no spec below fails the suite. Each handler is called
 * as Next.js calls it, bound to a container on a local cloud started here (cognito-local
 * for real tokens, dynalite, the events emulator); only the launcher is a recording
 * stand-in, so that no real runtime starts.
 *
 * Every case asserts the exact status and, for a refusal, the one error shape; around
 * every refusal the whole store (DynamoDB items, blob and secret files) is compared, and
 * nothing may have been written or published. Each route also has positive controls (a
 * valid request, the accepted end of every boundary), so a refusal cannot pass by the
 * route refusing everything.
 */

type Handler = (req: Request, ctx?: { params?: Promise<unknown> }) => Promise<Response>;
type User = { accessToken: string; sub: string };
type Input = { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
type Expect = { status: number; code?: string };

interface Case {
  name: string;
  /** The Authorization header; the caller's own token when absent, none when null. */
  authorization?: () => string | null;
  /** The request's input; the route's valid input when absent. */
  input?: () => Promise<Input> | Input;
  /** Raw body and headers instead of the JSON of `input.body`. */
  raw?: () => { body?: BodyInit; contentType?: string | null; headers?: Record<string, string> };
  expect: Expect;
  check?: (text: string, res: Response) => void | Promise<void>;
}

interface RouteSpec {
  /** Whether a token is required. */
  auth: boolean;
  /** Status of a valid request. */
  ok: number;
  /** The zod schemas the route parses with; the field cases are generated from them. */
  schemas?: { body?: z.ZodObject; query?: z.ZodObject; params?: z.ZodObject };
  /** A valid request's input, made fresh for every case, as alice. */
  valid: () => Promise<Input> | Input;
  /** What the positive control's answer must say. */
  check?: (text: string, res: Response) => void;
  /**
   * The same request naming ids that do not exist (for routes that name the caller's
   * resources): it and another user's request for alice's ids must get the same 404.
   */
  unknownIds?: () => Promise<Input> | Input;
  /** Expected outcome of a value a schema accepts, by `location.field`, when it is not `ok`. */
  accepted?: Record<string, Expect>;
  /** Cases of the route's own rules (service limits, cross-field checks, foreign cursors ...). */
  extra?: () => Case[];
}

const API_DIR = import.meta.dirname;
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

interface FoundRoute {
  key: string;
  method: string;
  /** `/api/conversations/[id]` */
  path: string;
  export: unknown;
}

/** Every exported HTTP method of every route file, found on disk at test time. */
async function discoverRoutes(): Promise<FoundRoute[]> {
  const found: FoundRoute[] = [];
  for (const file of globSync("**/route.ts", { cwd: API_DIR }).sort()) {
    const module = (await import(/* @vite-ignore */ join(API_DIR, file))) as Record<string, unknown>;
    const dir = dirname(file);
    const path = dir === "." ? "/api" : `/api/${dir.split("\\").join("/")}`;
    for (const method of METHODS)
      if (method in module) found.push({ key: `${method} ${path}`, method, path, export: module[method] });
  }
  return found;
}

const routes = await discoverRoutes();

// ---------------------------------------------------------------------------------------
// The local cloud, the users and their fixtures.

let dir: string;
let cloud: LocalCloud;
let config: AppConfig;
let adapters: Adapters;
let scanClient: DynamoDBClient;
let alice: User;
let bob: User;
const launcher = new RecordingLauncher();
const published: { channel: string; event: ChatEvent | AgentEvent }[] = [];

/** Alice's data that no other user's request may reveal. */
const SECRET = `alice-secret-${randomUUID()}`;
const fx = {
  aliceConversation: "",
  aliceMessage: "",
  aliceRenamed: "",
  aliceOther: "",
  aliceOtherMessage: "",
  bobConversations: [] as string[],
  answeredMessage: { conversationId: "", messageId: "" },
};

let initial: StoreSnapshot;
let lastAfter: StoreSnapshot;
/** Keys written by positive controls and by the fixtures cases made, which the final check allows. */
const allowed = new Set<string>();
let tried = 0;
let passed = 0;

const snapshot = () =>
  snapshotStores({
    client: scanClient,
    tableName: config.dynamodb.tableName,
    dirs: {
      blobs: (config.blobs as { dir: string }).dir,
      secrets: (config.secrets as { dir: string }).dir,
    },
  });

async function conversationWith(
  user: User,
  text: string,
  opts: { reply?: Message["status"] } = {},
): Promise<{ conversationId: string; messageId: string }> {
  const at = new Date().toISOString();
  const conversationId = newId();
  const messageId = newId();
  await adapters.chatStore.createConversation(user.sub, {
    id: conversationId,
    title: text.slice(0, 60),
    createdAt: at,
    updatedAt: at,
  });
  await adapters.chatStore.putMessage(user.sub, {
    id: messageId,
    conversationId,
    role: "user",
    content: text,
    status: "complete",
    createdAt: at,
    source: "web",
  });
  if (opts.reply)
    await adapters.chatStore.putMessage(user.sub, {
      id: replyIdFor(messageId),
      conversationId,
      role: "assistant",
      content: opts.reply === "complete" ? "Done." : "",
      status: opts.reply,
      createdAt: at,
      replyTo: messageId,
    });
  return { conversationId, messageId };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bad-input-"));
  cloud = await startLocalCloud({ stateDir: dir, ports: { dynamodb: 0, events: 0, cognito: 0 } });
  config = configFromLocalCloud(cloud.info, cloud.file);
  const { cognito } = cloud.info;
  alice = await signInForTest(cognito, cloud.firstUser.email, cloud.firstUser.password);
  await createTestUser(cognito, "bob@example.com", "Bob-password-1!");
  bob = await signInForTest(cognito, "bob@example.com", "Bob-password-1!");

  adapters = createAdapters(config);
  const realPublisher = adapters.publisher;
  // The real publisher, recorded: a refused request must not publish either.
  Object.defineProperty(adapters, "publisher", {
    value: {
      publish: async (channel: string, events: (ChatEvent | AgentEvent)[]) => {
        for (const event of events) published.push({ channel, event });
        await realPublisher.publish(channel, events);
      },
    },
  });
  Object.defineProperty(adapters, "launcher", { value: launcher });
  scanClient = createDynamoClient({
    endpoint: config.dynamodb.endpoint,
    region: config.region,
    credentials: config.credentials,
  });

  const main = await conversationWith(alice, `${SECRET} the plan`);
  fx.aliceConversation = main.conversationId;
  fx.aliceMessage = main.messageId;
  fx.aliceRenamed = (await conversationWith(alice, `${SECRET} to be renamed`)).conversationId;
  const other = await conversationWith(alice, `${SECRET} another one`, { reply: "error" });
  fx.aliceOther = other.conversationId;
  fx.aliceOtherMessage = other.messageId;
  fx.answeredMessage = await conversationWith(alice, `${SECRET} answered`, { reply: "complete" });
  for (const text of ["bob one", "bob two"])
    fx.bobConversations.push((await conversationWith(bob, text)).conversationId);

  initial = await snapshot();
  lastAfter = initial;
});

afterAll(async () => {
  console.log(`bad-input: ${tried} cases tried, ${passed} passed`);
  scanClient?.destroy();
  await cloud?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Requests and checks.

function url(path: string, input: Input): string {
  const filled = path.replace(/\[(\w+)\]/g, (_, name: string) =>
    encodeURIComponent(String(input.params?.[name] ?? "")),
  );
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(input.query ?? {})) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return `http://127.0.0.1${filled}${qs ? `?${qs}` : ""}`;
}

function buildRequest(route: FoundRoute, input: Input, c: Case): Request {
  const headers: Record<string, string> = {};
  const authorization = c.authorization ? c.authorization() : `Bearer ${alice.accessToken}`;
  if (authorization !== null) headers.authorization = authorization;
  let body: BodyInit | undefined;
  if (c.raw) {
    const raw = c.raw();
    body = raw.body;
    if (raw.contentType !== null) headers["content-type"] = raw.contentType ?? "application/json";
    Object.assign(headers, raw.headers);
  } else if (input.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(input.body);
  }
  const streamed = typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
  return new Request(url(route.path, input), {
    method: route.method,
    headers,
    body,
    ...(streamed ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** `{ error: { code, message } }` (plus `details`, and `requestId` on a 5xx), JSON, never cached. */
function expectErrorShape(text: string, res: Response, code: string | undefined): void {
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = JSON.parse(text) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).every((k) => ["code", "message", "details", "requestId"].includes(k))).toBe(
    true,
  );
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect((body.error.message as string).length).toBeGreaterThan(0);
  if (res.status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
}

async function runCase(route: FoundRoute, spec: RouteSpec, c: Case): Promise<void> {
  tried++;
  const handler = (route.export as Route).with(adapters) as Handler;
  const pre = await snapshot();
  // Anything that landed since the last case finished was written late, by nobody's request.
  expect(changedKeys(lastAfter, pre), "written between cases").toEqual([]);
  const input = await (c.input ?? spec.valid)();
  const before = await snapshot();
  for (const key of changedKeys(pre, before)) allowed.add(key);
  const publishedBefore = published.length;
  const launchesBefore = launcher.launches.length;

  const res = await handler(buildRequest(route, input, c), { params: Promise.resolve(input.params ?? {}) });
  const text = await res.text();
  const after = await snapshot();
  lastAfter = after;
  const written = changedKeys(before, after);

  expect(res.status, text.slice(0, 500)).toBe(c.expect.status);
  if (c.expect.status >= 400) {
    expectErrorShape(text, res, c.expect.code);
    expect(written, "a refused request wrote").toEqual([]);
    expect(published.slice(publishedBefore), "a refused request published").toEqual([]);
    expect(launcher.launches.length, "a refused request launched a runtime").toBe(launchesBefore);
  } else {
    for (const key of written) allowed.add(key);
  }
  await c.check?.(text, res);
  passed++;
}

// ---------------------------------------------------------------------------------------
// Cases every route gets.

const BAD_REQUEST: Expect = { status: 400, code: "bad_request" };
const NOT_FOUND: Expect = { status: 404, code: "not_found" };
const UNAUTHENTICATED: Expect = { status: 401, code: "unauthenticated" };

function tokenCases(spec: RouteSpec): Case[] {
  const pool = () => ({ issuer: cloud.info.cognito.issuer, clientId: cloud.info.cognito.clientId });
  const now = () => Math.floor(Date.now() / 1000);
  const forgeryKey = createTestJwtIssuer().forgeryKey;
  const refused = (name: string, authorization: () => string | null): Case => ({
    name: `401 for ${name}`,
    authorization,
    expect: UNAUTHENTICATED,
  });
  const bearer = (token: () => string) => () => `Bearer ${token()}`;
  const claims = () => ({
    sub: alice.sub,
    iss: pool().issuer,
    client_id: pool().clientId,
    token_use: "access",
    iat: now(),
    exp: now() + 3600,
  });
  return [
    refused("no Authorization header", () => null),
    refused("an empty Bearer", () => "Bearer "),
    refused("a Basic header", () => `Basic ${Buffer.from("alice:password").toString("base64")}`),
    refused("a garbage token", () => "Bearer not-a-jwt"),
    refused("three garbage segments", () => "Bearer aaaa.bbbb.cccc"),
    refused("two tokens", () => `Bearer ${alice.accessToken} ${alice.accessToken}`),
    refused("an over-long token", () => `Bearer ${"a".repeat(9_000)}`),
    refused(
      "a token of another issuer, signed by its key",
      bearer(() => createTestJwtIssuer().mint(alice.sub)),
    ),
    refused(
      "a token with the right issuer and kid, signed by another key",
      bearer(() => mintCognitoLocalToken(pool(), alice.sub, { key: forgeryKey })),
    ),
    refused(
      "a token with the right issuer and an unknown kid",
      bearer(() => mintCognitoLocalToken(pool(), alice.sub, { key: forgeryKey, header: { kid: "rotated" } })),
    ),
    refused(
      "a second token with an unknown kid right after the first",
      bearer(() =>
        mintCognitoLocalToken(pool(), alice.sub, { key: forgeryKey, header: { kid: "rotated-2" } }),
      ),
    ),
    refused(
      "an expired token",
      bearer(() =>
        mintCognitoLocalToken(pool(), alice.sub, { claims: { iat: now() - 7200, exp: now() - 60 } }),
      ),
    ),
    refused(
      "a token not valid yet (nbf)",
      bearer(() => mintCognitoLocalToken(pool(), alice.sub, { claims: { nbf: now() + 600 } })),
    ),
    refused(
      "a token of another app client",
      bearer(() => mintCognitoLocalToken(pool(), alice.sub, { claims: { client_id: "another-client" } })),
    ),
    refused(
      "an id token",
      bearer(() =>
        mintCognitoLocalToken(pool(), alice.sub, {
          claims: { token_use: "id", aud: pool().clientId, client_id: undefined },
        }),
      ),
    ),
    refused(
      "a token without token_use",
      bearer(() => mintCognitoLocalToken(pool(), alice.sub, { claims: { token_use: undefined } })),
    ),
    refused(
      "a token whose sub is not channel-safe",
      bearer(() => mintCognitoLocalToken(pool(), "../other-user")),
    ),
    refused(
      'an unsigned token (alg "none")',
      bearer(() => signJwt({ alg: "none", typ: "JWT", kid: cognitoLocalKeys().kid }, claims(), "none")),
    ),
    refused(
      "an HS256 token keyed with the public key",
      bearer(() =>
        signJwt({ alg: "HS256", typ: "JWT", kid: cognitoLocalKeys().kid }, claims(), {
          hmacSecret: cognitoLocalKeys().publicPem,
        }),
      ),
    ),
    refused(
      "alice's real token with bob's sub put in",
      bearer(() => {
        const [header, payload, signature] = alice.accessToken.split(".") as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: bob.sub })).toString("base64url");
        return `${header}.${forged}.${signature}`;
      }),
    ),
    {
      name: `${spec.ok} for a token minted with cognito-local's own key (control for the forged ones)`,
      authorization: bearer(() => mintCognitoLocalToken(pool(), alice.sub)),
      expect: { status: spec.ok },
    },
  ];
}

/** The response of the unknown-ids case, which another user's 404 must equal. */
const unknownResponses = new Map<RouteSpec, string>();

function ownershipCases(spec: RouteSpec): Case[] {
  const unknownIds = spec.unknownIds;
  if (!unknownIds) return [];
  return [
    {
      name: "404 for ids that do not exist",
      input: unknownIds,
      expect: NOT_FOUND,
      check: (text) => void unknownResponses.set(spec, text),
    },
    {
      name: "404 for another user's request naming alice's ids, revealing nothing",
      authorization: () => `Bearer ${bob.accessToken}`,
      expect: NOT_FOUND,
      check: (text) => {
        expect(text).not.toContain(SECRET);
        expect(text).toBe(unknownResponses.get(spec));
      },
    },
  ];
}

function generatedCases(spec: RouteSpec): Case[] {
  const out: Case[] = [];
  for (const location of ["params", "query", "body"] as Location[]) {
    const schema = spec.schemas?.[location];
    if (!schema) continue;
    for (const fc of fieldCases(schema, location)) {
      const acceptedAs =
        spec.accepted?.[`${location}.${fc.field}`] ??
        (location === "params" ? NOT_FOUND : { status: spec.ok });
      const expected = fc.accepted ? acceptedAs : BAD_REQUEST;
      out.push({
        name: `${expected.status} for ${location}.${fc.name}`,
        input: async () => {
          const valid = await spec.valid();
          const part = (valid[location] ?? {}) as Record<string, unknown>;
          return { ...valid, [location]: withField(part, fc.field, fc.value) };
        },
        expect: expected,
      });
    }
  }
  return out;
}

function bodyCases(spec: RouteSpec): Case[] {
  if (!spec.schemas?.body) return [];
  const limit = LIMITS.bodyBytes;
  const ok = { status: spec.ok };
  /** Valid JSON padded with whitespace to exactly `bytes`. */
  const padded = (json: string, bytes: number) => json + " ".repeat(bytes - Buffer.byteLength(json));
  let prepared = "";
  /** Prepares the body in `input` (run before the request) for `raw` to use. */
  const withBody = (make: (json: string) => string | Promise<string>) => async () => {
    const valid = await spec.valid();
    prepared = await make(JSON.stringify(valid.body));
    return valid;
  };
  const raw = (body: string | Uint8Array, contentType?: string | null) => ({
    input: spec.valid,
    raw: () => ({ body: body as BodyInit, contentType }),
  });
  return [
    { name: "400 for malformed JSON", ...raw("{not json"), expect: BAD_REQUEST },
    { name: "400 for truncated JSON", ...raw('{"title": '), expect: BAD_REQUEST },
    {
      name: "400 for JSON followed by garbage",
      input: withBody((json) => `${json} trailing`),
      raw: () => ({ body: prepared }),
      expect: BAD_REQUEST,
    },
    { name: "400 for an empty body", ...raw(""), expect: BAD_REQUEST },
    {
      name: "400 for a body that is not UTF-8",
      ...raw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      expect: BAD_REQUEST,
    },
    { name: "400 for JSON null", ...raw("null"), expect: BAD_REQUEST },
    { name: "400 for a JSON array", ...raw("[]"), expect: BAD_REQUEST },
    { name: "400 for a JSON string", ...raw('"hello"'), expect: BAD_REQUEST },
    { name: "400 for a JSON number", ...raw("42"), expect: BAD_REQUEST },
    {
      name: "400 for deeply nested JSON",
      ...raw(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
      expect: BAD_REQUEST,
    },
    {
      name: "400 for a __proto__ key holding the fields",
      input: withBody((json) => `{"__proto__": ${json}}`),
      raw: () => ({ body: prepared }),
      expect: BAD_REQUEST,
    },
    {
      name: "415 without a content type",
      input: withBody((json) => json),
      raw: () => ({ body: prepared, contentType: null }),
      expect: { status: 415, code: "unsupported_media_type" },
    },
    ...[
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
    ].map(
      (contentType): Case => ({
        name: `415 for content type ${contentType}`,
        input: withBody((json) => json),
        raw: () => ({ body: prepared, contentType }),
        expect: { status: 415, code: "unsupported_media_type" },
      }),
    ),
    ...["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"].map(
      (contentType): Case => ({
        name: `${spec.ok} for content type ${contentType}`,
        input: withBody((json) => json),
        raw: () => ({ body: prepared, contentType }),
        expect: ok,
      }),
    ),
    {
      name: `${spec.ok} for a body of exactly the limit (${limit} bytes)`,
      input: withBody((json) => padded(json, limit)),
      raw: () => ({ body: prepared }),
      expect: ok,
    },
    {
      name: "413 for a body one byte past the limit, declared in Content-Length",
      input: withBody((json) => padded(json, limit + 1)),
      raw: () => ({ body: prepared, headers: { "content-length": String(limit + 1) } }),
      expect: { status: 413, code: "payload_too_large" },
    },
    {
      name: "413 for a body one byte past the limit, streamed without Content-Length",
      input: withBody((json) => padded(json, limit + 1)),
      raw: () => ({ body: streamOf(prepared) }),
      expect: { status: 413, code: "payload_too_large" },
    },
    {
      name: "413 for a body past the limit under a Content-Length that says less",
      input: withBody((json) => padded(json, limit + 1)),
      raw: () => ({ body: streamOf(prepared), headers: { "content-length": "10" } }),
      expect: { status: 413, code: "payload_too_large" },
    },
    {
      name: "413 for a declared Content-Length past the limit",
      input: withBody((json) => json),
      raw: () => ({ body: prepared, headers: { "content-length": String(limit * 4) } }),
      expect: { status: 413, code: "payload_too_large" },
    },
  ];
}

/** A body in 16 KB chunks, with no length known up front. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 16_384));
      offset += 16_384;
    },
  });
}

function casesFor(spec: RouteSpec): Case[] {
  const positive: Case = {
    name: `${spec.ok} for a valid request (positive control)`,
    authorization: spec.auth ? undefined : () => null,
    expect: { status: spec.ok },
    check: spec.check,
  };
  if (!spec.auth)
    return [
      positive,
      {
        name: `${spec.ok} with a garbage token, which a public route ignores`,
        authorization: () => "Bearer not-a-jwt",
        expect: { status: spec.ok },
        check: spec.check,
      },
    ];
  return [
    positive,
    ...tokenCases(spec),
    ...ownershipCases(spec),
    ...generatedCases(spec),
    ...bodyCases(spec),
    ...(spec.extra?.() ?? []),
  ];
}

// ---------------------------------------------------------------------------------------
// What each route takes. A route added under app/api needs an entry here.

const json = <T>(text: string) => JSON.parse(text) as T;
const noSecrets = (text: string) => {
  expect(text).not.toContain(cloud.info.credentials.secretAccessKey);
  expect(text).not.toContain(cloud.info.events.apiKey);
};
const chatBody = (extra: Record<string, unknown> = {}) => ({
  text: "hello agent",
  conversationId: fx.aliceConversation,
  idempotencyKey: newId(),
  ...extra,
});
const freshConversation = async () => (await conversationWith(alice, `${SECRET} fresh`)).conversationId;
const freshFailed = () => conversationWith(alice, `${SECRET} failed`, { reply: "error" });

const SPECS: Record<string, RouteSpec> = {
  "GET /api/config": {
    auth: false,
    ok: 200,
    valid: () => ({}),
    check: (text) => {
      noSecrets(text);
      expect(json<{ cognito?: unknown }>(text)).toBeTypeOf("object");
    },
  },
  "GET /api/health": {
    auth: false,
    ok: 200,
    valid: () => ({}),
    check: (text) => {
      noSecrets(text);
      expect(json<{ status: string }>(text).status).toBe("ok");
    },
  },
  "POST /api/chat": {
    auth: true,
    ok: 202,
    schemas: { body: sendMessageSchema },
    valid: () => ({ body: chatBody() }),
    check: (text) =>
      expect(json(text)).toMatchObject({ conversationId: fx.aliceConversation, duplicate: false }),
    unknownIds: () => ({ body: chatBody({ conversationId: newId() }) }),
    accepted: {
      // A key of the right shape whose time prefix is far from now.
      "body.idempotencyKey": BAD_REQUEST,
      // A well-formed id of no conversation.
      "body.conversationId": NOT_FOUND,
    },
    extra: () => {
      const text = (t: string) => () => ({ body: chatBody({ text: t }) });
      return [
        { name: "400 for an empty message", input: text(""), expect: BAD_REQUEST },
        { name: "400 for a message of only whitespace", input: text(" \n\t "), expect: BAD_REQUEST },
        {
          name: `202 for a message of exactly ${LIMITS.messageChars} characters`,
          input: text("x".repeat(LIMITS.messageChars)),
          expect: { status: 202 },
        },
        {
          name: `413 for a message of ${LIMITS.messageChars + 1} characters, naming the limit`,
          input: text("x".repeat(LIMITS.messageChars + 1)),
          expect: { status: 413, code: "payload_too_large" },
          check: (t) => expect(t).toContain(String(LIMITS.messageChars)),
        },
        {
          name: `202 for ${LIMITS.messageChars / 2} emoji (${LIMITS.messageChars} UTF-16 units)`,
          input: text("😀".repeat(LIMITS.messageChars / 2)),
          expect: { status: 202 },
        },
        {
          name: "413 for one emoji more",
          input: text("😀".repeat(LIMITS.messageChars / 2 + 1)),
          expect: { status: 413, code: "payload_too_large" },
        },
        {
          name: "400 for an idempotency key from two days ago",
          input: () => ({ body: chatBody({ idempotencyKey: newId(Date.now() - 2 * 86_400_000) }) }),
          expect: BAD_REQUEST,
        },
        {
          name: "400 for an idempotency key an hour ahead",
          input: () => ({ body: chatBody({ idempotencyKey: newId(Date.now() + 3_600_000) }) }),
          expect: BAD_REQUEST,
        },
        {
          name: "202 for a first message, which starts a conversation",
          input: () => ({ body: chatBody({ conversationId: undefined }) }),
          expect: { status: 202 },
          check: (t) => expect(json<{ conversation?: unknown }>(t).conversation).toBeDefined(),
        },
        {
          name: "404 for a message to alice's conversation under bob's token, writing nothing for bob either",
          authorization: () => `Bearer ${bob.accessToken}`,
          input: () => ({ body: chatBody({ text: "bob was here" }) }),
          expect: NOT_FOUND,
        },
      ];
    },
  },
  "GET /api/conversations": {
    auth: true,
    ok: 200,
    schemas: { query: pageQuerySchema },
    valid: () => ({ query: {} }),
    check: (text) => {
      const ids = json<{ items: { id: string }[] }>(text).items.map((c) => c.id);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of fx.bobConversations) expect(ids).not.toContain(id);
    },
    // Any non-empty cursor of the right length that the store did not make is refused.
    accepted: { "query.cursor": BAD_REQUEST },
    extra: () => {
      let bobsCursor = "";
      return [
        {
          name: "200 for bob's first page, whose cursor alice then tries",
          authorization: () => `Bearer ${bob.accessToken}`,
          input: () => ({ query: { limit: 1 } }),
          expect: { status: 200 },
          check: (text) => {
            const page = json<{ items: { id: string }[]; cursor?: string }>(text);
            expect(page.cursor).toBeTypeOf("string");
            bobsCursor = page.cursor as string;
          },
        },
        {
          name: "200 for alice with bob's cursor, listing only alice's conversations",
          input: () => ({ query: { cursor: bobsCursor } }),
          expect: { status: 200 },
          check: (text) => {
            const ids = json<{ items: { id: string }[] }>(text).items.map((c) => c.id);
            for (const id of fx.bobConversations) expect(ids).not.toContain(id);
          },
        },
        {
          name: "400 for a cursor that is not one",
          input: () => ({ query: { cursor: "!!!" } }),
          expect: BAD_REQUEST,
        },
      ];
    },
  },
  "GET /api/conversations/[id]": {
    auth: true,
    ok: 200,
    schemas: { params: paramsOf("id") },
    valid: () => ({ params: { id: fx.aliceConversation } }),
    check: (text) => expect(json(text)).toMatchObject({ conversation: { id: fx.aliceConversation } }),
    unknownIds: () => ({ params: { id: newId() } }),
    extra: () => [
      {
        name: "400 for a path id with a dot segment",
        input: () => ({ params: { id: ".." } }),
        expect: BAD_REQUEST,
      },
    ],
  },
  "PATCH /api/conversations/[id]": {
    auth: true,
    ok: 200,
    schemas: { params: paramsOf("id"), body: renameSchema },
    valid: () => ({ params: { id: fx.aliceRenamed }, body: { title: "Renamed" } }),
    check: (text) => expect(json(text)).toMatchObject({ conversation: { title: "Renamed" } }),
    unknownIds: () => ({ params: { id: newId() }, body: { title: "Renamed" } }),
    extra: () => {
      const title = (t: string) => () => ({ params: { id: fx.aliceRenamed }, body: { title: t } });
      return [
        { name: "400 for a title of only whitespace", input: title(" \n "), expect: BAD_REQUEST },
        {
          name: `200 for ${LIMITS.titleChars} characters and trailing spaces, which are trimmed`,
          input: title(`${"t".repeat(LIMITS.titleChars)}   `),
          expect: { status: 200 },
          check: (t) =>
            expect(json<{ conversation: { title: string } }>(t).conversation.title).toBe(
              "t".repeat(LIMITS.titleChars),
            ),
        },
      ];
    },
  },
  "DELETE /api/conversations/[id]": {
    auth: true,
    ok: 204,
    schemas: { params: paramsOf("id") },
    valid: async () => ({ params: { id: await freshConversation() } }),
    check: (text) => expect(text).toBe(""),
    unknownIds: () => ({ params: { id: newId() } }),
    extra: () => [
      {
        name: "404 for a conversation deleted already",
        input: async () => {
          const id = await freshConversation();
          await adapters.chatStore.deleteConversation(alice.sub, id);
          return { params: { id } };
        },
        expect: NOT_FOUND,
      },
    ],
  },
  "GET /api/conversations/[id]/messages": {
    auth: true,
    ok: 200,
    schemas: { params: paramsOf("id"), query: messagesQuerySchema },
    valid: () => ({ params: { id: fx.aliceConversation }, query: {} }),
    check: (text) =>
      expect(json<{ items: { id: string }[] }>(text).items.map((m) => m.id)).toContain(fx.aliceMessage),
    unknownIds: () => ({ params: { id: newId() }, query: {} }),
    accepted: { "query.cursor": BAD_REQUEST },
  },
  "POST /api/conversations/[id]/stop": {
    auth: true,
    ok: 200,
    schemas: { params: paramsOf("id") },
    valid: () => ({ params: { id: fx.aliceOther } }),
    check: (text) => expect(json(text)).toEqual({ dropped: [] }),
    unknownIds: () => ({ params: { id: newId() } }),
  },
  "POST /api/conversations/[id]/messages/[messageId]/retry": {
    auth: true,
    ok: 202,
    schemas: { params: retryParamsSchema },
    valid: async () => {
      const { conversationId, messageId } = await freshFailed();
      return { params: { id: conversationId, messageId } };
    },
    check: (text) => expect(json(text)).toMatchObject({ queued: true }),
    unknownIds: () => ({ params: { id: newId(), messageId: newId() } }),
    extra: () => [
      {
        name: "404 for alice's message under another of her conversations",
        input: () => ({ params: { id: fx.aliceConversation, messageId: fx.aliceOtherMessage } }),
        expect: NOT_FOUND,
      },
      {
        name: "404 for the id of a reply instead of a user message",
        input: () => ({ params: { id: fx.aliceOther, messageId: replyIdFor(fx.aliceOtherMessage) } }),
        expect: NOT_FOUND,
      },
      {
        name: "409 for a message whose reply did not fail",
        input: () => ({
          params: { id: fx.answeredMessage.conversationId, messageId: fx.answeredMessage.messageId },
        }),
        expect: { status: 409, code: "conflict" },
      },
    ],
  },
  "GET /api/runtime/status": {
    auth: true,
    ok: 200,
    valid: () => ({}),
    check: (text) =>
      expect(["asleep", "waking", "ready", "busy", "stopping"]).toContain(
        json<{ state: string }>(text).state,
      ),
  },
  "POST /api/runtime/warm": {
    auth: true,
    ok: 202,
    valid: () => ({}),
  },
  "GET /api/settings": {
    auth: true,
    ok: 200,
    valid: () => ({}),
    check: (text) => expect(json<{ hasApiKey: unknown }>(text).hasApiKey).toBeTypeOf("boolean"),
  },
  "PUT /api/settings": {
    auth: true,
    ok: 200,
    schemas: { body: updateSettingsSchema },
    valid: () => ({ body: { prewarm: true } }),
    check: (text) => expect(json(text)).toMatchObject({ prewarm: true }),
    extra: () => {
      const body = (b: unknown) => () => ({ body: b });
      return [
        { name: "200 for an empty update", input: body({}), expect: { status: 200 } },
        {
          name: "400 for an OpenAI-compatible provider without a base URL",
          input: body({ provider: "openai-compatible", baseUrl: null }),
          expect: BAD_REQUEST,
        },
        {
          name: "200 for an OpenAI-compatible provider with a base URL",
          input: body({ provider: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1" }),
          expect: { status: 200 },
        },
        {
          name: "200 back to the default provider",
          input: body({ provider: "anthropic", baseUrl: null }),
          expect: { status: 200 },
        },
        ...["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)"].map(
          (baseUrl): Case => ({
            name: `400 for baseUrl ${baseUrl}`,
            input: body({ baseUrl }),
            expect: BAD_REQUEST,
          }),
        ),
        { name: "400 for an apiKey of only spaces", input: body({ apiKey: "   " }), expect: BAD_REQUEST },
        {
          name: "200 for an apiKey, which is never returned",
          input: body({ apiKey: "sk-bad-input-secret" }),
          expect: { status: 200 },
          check: (t) => {
            expect(t).not.toContain("sk-bad-input-secret");
            expect(json(t)).toMatchObject({ hasApiKey: true });
          },
        },
      ];
    },
  },
};

/** The path schema of the conversation routes (retry exports its own). */
function paramsOf(...names: string[]): z.ZodObject {
  return z.object(Object.fromEntries(names.map((n) => [n, conversationIdSchema])));
}

// ---------------------------------------------------------------------------------------

describe("bad-input suite", () => {
  it("has a spec for every route handler, and every spec names a route that exists", () => {
    const keys = routes.map((r) => r.key);
    expect(keys.length).toBeGreaterThan(10);
    expect(Object.keys(SPECS).filter((k) => !keys.includes(k))).toEqual([]);
  });
});

for (const route of routes) {
  describe(route.key, () => {
    const spec = SPECS[route.key];
    if (!spec) {
      it("has a bad-input spec", () => {
        throw new Error(`${route.key} has no entry in SPECS of app/api/bad-input.test.ts: add one`);
      });
      return;
    }
    if (typeof route.export !== "function" || typeof (route.export as Partial<Route>).with !== "function") {
      it("is made with route()", () => {
        throw new Error(`${route.key} is not made with route() from lib/http/route.ts`);
      });
      return;
    }
    for (const c of casesFor(spec)) it(c.name, () => runCase(route, spec, c));
  });
}

describe("the store after every refusal", () => {
  it("holds nothing but the fixtures and what accepted requests wrote", async () => {
    await new Promise((r) => setTimeout(r, 500));
    const final = await snapshot();
    expect(changedKeys(lastAfter, final), "written after the last case").toEqual([]);
    const unexpected = changedKeys(initial, final).filter((k) => !allowed.has(k));
    expect(unexpected).toEqual([]);
    // The accepted cases did write: the comparison above can fail.
    expect(allowed.size).toBeGreaterThan(0);
  });
});
