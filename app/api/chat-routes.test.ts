import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapters } from "@/lib/adapters";
import { LIMITS, type Message, newId, replyIdFor } from "@/lib/contracts";
import { configFromLocalCloud } from "@/lib/env";
import type { Route } from "@/lib/http/route";
import { type LocalCloud, startLocalCloud } from "@/lib/local-cloud/cloud";
import { createTestUser, signInForTest } from "@/lib/testing/services";
import * as chat from "./chat/route";
import * as retry from "./conversations/[id]/messages/[messageId]/retry/route";
import * as messages from "./conversations/[id]/messages/route";
import * as conversation from "./conversations/[id]/route";
import * as stop from "./conversations/[id]/stop/route";
import * as conversations from "./conversations/route";
import * as status from "./runtime/status/route";
import * as warm from "./runtime/warm/route";
import * as settings from "./settings/route";

/*
 * The chat route handlers as Next.js calls them (exported functions, real Request objects),
 * against a local cloud started here on free ports: cognito-local for real tokens, dynalite
 * for the stores, the events emulator for publishes. Each bad input asserts status and body.
 */

type Handler = (req: Request, ctx?: { params?: Promise<unknown> }) => Promise<Response>;

/** A route module's handlers, bound to this test's container. */
function bound<M extends Record<string, unknown>>(
  module: M,
  container: Parameters<Route["with"]>[0],
): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const [name, value] of Object.entries(module))
    if (typeof value === "function" && "with" in value) out[name] = (value as Route).with(container);
  return out;
}

type Routes = {
  chat: { POST: Handler };
  conversations: { GET: Handler };
  conversation: { GET: Handler; PATCH: Handler; DELETE: Handler };
  messages: { GET: Handler };
  stop: { POST: Handler };
  retry: { POST: Handler };
  warm: { POST: Handler };
  status: { GET: Handler };
  settings: { GET: Handler; PUT: Handler };
};

let dir: string;
let cloud: LocalCloud;
let routes: Routes;
let stores: Pick<ReturnType<typeof createAdapters>, "chatStore" | "queue">;
let alice: { accessToken: string; sub: string };
let bob: { accessToken: string; sub: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "chat-routes-"));
  cloud = await startLocalCloud({ stateDir: dir, ports: { dynamodb: 0, events: 0, cognito: 0 } });
  const { cognito } = cloud.info;
  alice = await signInForTest(cognito, cloud.firstUser.email, cloud.firstUser.password);
  await createTestUser(cognito, "bob@example.com", "Bob-password-1!");
  bob = await signInForTest(cognito, "bob@example.com", "Bob-password-1!");
  // A runtime that is starting (no task recorded yet) counts as healthy: sends and warm-ups
  // then only publish a wake-up instead of launching a real OpenClaw in this test.
  const container = createAdapters(configFromLocalCloud(cloud.info, cloud.file));
  const { taskStates } = container;
  stores = container;
  for (const u of [alice, bob]) {
    const now = new Date().toISOString();
    await taskStates.compareAndSet(u.sub, 0, {
      status: "Starting",
      startedAt: now,
      heartbeatAt: now,
      idleTimeoutMinutes: 15,
    });
  }
  const modules = { chat, conversations, conversation, messages, stop, retry, warm, status, settings };
  routes = Object.fromEntries(
    Object.entries(modules).map(([name, module]) => [name, bound(module, container)]),
  ) as unknown as Routes;
});

afterAll(async () => {
  await cloud?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function req(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; raw?: string; contentType?: string } = {},
): Request {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? alice.accessToken : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.raw !== undefined || opts.body !== undefined) {
    headers["content-type"] = opts.contentType ?? "application/json";
    body = opts.raw ?? JSON.stringify(opts.body);
  }
  return new Request(`http://127.0.0.1${path}`, { method, headers, body });
}

const params = (id: string) => ({ params: Promise.resolve({ id }) });

async function expectError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

async function send(
  text: string,
  opts: { token?: string; conversationId?: string; key?: string } = {},
): Promise<{ conversationId: string; messageId: string; duplicate: boolean; conversation?: unknown }> {
  const res = await routes.chat.POST(
    req("POST", "/api/chat", {
      token: opts.token,
      body: { text, conversationId: opts.conversationId, idempotencyKey: opts.key ?? newId() },
    }),
  );
  expect(res.status).toBe(202);
  return res.json();
}

describe("POST /api/chat", () => {
  it("answers 202 with ids, and the same key twice sends once", async () => {
    const key = newId();
    const first = await send("Hello agent", { key });
    expect(first).toMatchObject({ duplicate: false });
    expect(first.conversationId).toMatch(/^[a-z0-9]{26}$/);
    const again = await send("Hello agent", { key });
    expect(again).toEqual({
      conversationId: first.conversationId,
      messageId: first.messageId,
      duplicate: true,
    });
    const list = await routes.messages.GET(
      req("GET", `/api/conversations/${first.conversationId}/messages`),
      params(first.conversationId),
    );
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it("401 without a token, and with a forged one", async () => {
    const body = { text: "hi", idempotencyKey: newId() };
    const msg = await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { token: null, body })),
      401,
      "unauthenticated",
    );
    expect(msg).toMatch(/sign in/i);
    const [h, p] = alice.accessToken.split(".");
    await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { token: `${h}.${p}.forged`, body })),
      401,
      "unauthenticated",
    );
  });

  it("400 for malformed JSON and for wrong types, naming the field", async () => {
    await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { raw: "{not json" })),
      400,
      "bad_request",
    );
    const msg = await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { body: { text: 42, idempotencyKey: newId() } })),
      400,
      "bad_request",
    );
    expect(msg).toContain("text");
    const keyMsg = await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { body: { text: "hi", idempotencyKey: "x" } })),
      400,
      "bad_request",
    );
    expect(keyMsg).toContain("idempotencyKey");
  });

  it("415 for a body that is not JSON", async () => {
    await expectError(
      await routes.chat.POST(req("POST", "/api/chat", { raw: "text=hi", contentType: "text/plain" })),
      415,
      "unsupported_media_type",
    );
  });

  it("413 for an oversized message, with the limit in the message", async () => {
    const msg = await expectError(
      await routes.chat.POST(
        req("POST", "/api/chat", {
          body: { text: "x".repeat(LIMITS.messageChars + 1), idempotencyKey: newId() },
        }),
      ),
      413,
      "payload_too_large",
    );
    expect(msg).toContain(String(LIMITS.messageChars));
  });

  it("404 for an unknown conversation and for someone else's, writing nothing", async () => {
    const unknown = newId();
    await expectError(
      await routes.chat.POST(
        req("POST", "/api/chat", { body: { text: "hi", conversationId: unknown, idempotencyKey: newId() } }),
      ),
      404,
      "not_found",
    );
    const mine = await send("alice's secret plan");
    await expectError(
      await routes.chat.POST(
        req("POST", "/api/chat", {
          token: bob.accessToken,
          body: { text: "bob was here", conversationId: mine.conversationId, idempotencyKey: newId() },
        }),
      ),
      404,
      "not_found",
    );
    const list = await routes.messages.GET(
      req("GET", `/api/conversations/${mine.conversationId}/messages`),
      params(mine.conversationId),
    );
    const items = ((await list.json()) as { items: { content: string }[] }).items;
    expect(items.map((m) => m.content)).toEqual(["alice's secret plan"]);
  });
});

describe("conversations", () => {
  it("lists only the caller's conversations, newest first", async () => {
    const a = await send("first of bob", { token: bob.accessToken });
    const b = await send("second of bob", { token: bob.accessToken });
    const res = await routes.conversations.GET(req("GET", "/api/conversations", { token: bob.accessToken }));
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { id: string; title: string }[] };
    expect(items.map((c) => c.id)).toEqual([b.conversationId, a.conversationId]);
    expect(items.map((c) => c.title)).toEqual(["second of bob", "first of bob"]);
    await expectError(
      await routes.conversations.GET(req("GET", "/api/conversations?limit=0", { token: bob.accessToken })),
      400,
      "bad_request",
    );
    await expectError(
      await routes.conversations.GET(req("GET", "/api/conversations", { token: null })),
      401,
      "unauthenticated",
    );
  });

  it("GET: 400 for a malformed id, 404 for unknown and for someone else's", async () => {
    const mine = await send("get me");
    const ok = await routes.conversation.GET(
      req("GET", `/api/conversations/${mine.conversationId}`),
      params(mine.conversationId),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ conversation: { id: mine.conversationId, title: "get me" } });
    await expectError(
      await routes.conversation.GET(req("GET", "/api/conversations/NOT_AN_ID"), params("NOT_AN_ID")),
      400,
      "bad_request",
    );
    await expectError(
      await routes.conversation.GET(req("GET", `/api/conversations/${newId()}`), params(newId())),
      404,
      "not_found",
    );
    await expectError(
      await routes.conversation.GET(
        req("GET", `/api/conversations/${mine.conversationId}`, { token: bob.accessToken }),
        params(mine.conversationId),
      ),
      404,
      "not_found",
    );
  });

  it("PATCH renames; bad titles are 400 and someone else's conversation is 404", async () => {
    const mine = await send("rename me");
    const path = `/api/conversations/${mine.conversationId}`;
    const ok = await routes.conversation.PATCH(
      req("PATCH", path, { body: { title: "  Renamed  " } }),
      params(mine.conversationId),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ conversation: { title: "Renamed" } });
    await expectError(
      await routes.conversation.PATCH(
        req("PATCH", path, { body: { title: "" } }),
        params(mine.conversationId),
      ),
      400,
      "bad_request",
    );
    await expectError(
      await routes.conversation.PATCH(
        req("PATCH", path, { body: { title: "x".repeat(500) } }),
        params(mine.conversationId),
      ),
      400,
      "bad_request",
    );
    await expectError(
      await routes.conversation.PATCH(req("PATCH", path, { raw: "[" }), params(mine.conversationId)),
      400,
      "bad_request",
    );
    await expectError(
      await routes.conversation.PATCH(
        req("PATCH", path, { token: bob.accessToken, body: { title: "mine now" } }),
        params(mine.conversationId),
      ),
      404,
      "not_found",
    );
    const after = await routes.conversation.GET(req("GET", path), params(mine.conversationId));
    expect(await after.json()).toMatchObject({ conversation: { title: "Renamed" } });
  });

  it("DELETE removes it with its messages (204); someone else gets 404 and deletes nothing", async () => {
    const mine = await send("delete me");
    const path = `/api/conversations/${mine.conversationId}`;
    await expectError(
      await routes.conversation.DELETE(
        req("DELETE", path, { token: bob.accessToken }),
        params(mine.conversationId),
      ),
      404,
      "not_found",
    );
    expect((await routes.conversation.GET(req("GET", path), params(mine.conversationId))).status).toBe(200);
    const del = await routes.conversation.DELETE(req("DELETE", path), params(mine.conversationId));
    expect(del.status).toBe(204);
    await expectError(
      await routes.conversation.GET(req("GET", path), params(mine.conversationId)),
      404,
      "not_found",
    );
    await expectError(
      await routes.messages.GET(req("GET", `${path}/messages`), params(mine.conversationId)),
      404,
      "not_found",
    );
  });

  it("messages: `after` catches up; a bad `after` is 400; someone else's is 404", async () => {
    const first = await send("one");
    const second = await send("two", { conversationId: first.conversationId });
    const path = `/api/conversations/${first.conversationId}/messages`;
    const res = await routes.messages.GET(
      req("GET", `${path}?after=${first.messageId}`),
      params(first.conversationId),
    );
    const { items } = (await res.json()) as { items: { id: string }[] };
    expect(items.map((m) => m.id)).toEqual([second.messageId]);
    await expectError(
      await routes.messages.GET(req("GET", `${path}?after=../../x`), params(first.conversationId)),
      400,
      "bad_request",
    );
    await expectError(
      await routes.messages.GET(req("GET", path, { token: bob.accessToken }), params(first.conversationId)),
      404,
      "not_found",
    );
  });

  it("stop: 200 for the owner, 404 for someone else", async () => {
    const mine = await send("long task");
    const path = `/api/conversations/${mine.conversationId}/stop`;
    await expectError(
      await routes.stop.POST(req("POST", path, { token: bob.accessToken }), params(mine.conversationId)),
      404,
      "not_found",
    );
    const ok = await routes.stop.POST(req("POST", path), params(mine.conversationId));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ dropped: [mine.messageId] });
  });
});

describe("retry", () => {
  /** A sent message answered the way the runtime answers: claimed, reply stored, item completed. */
  async function answered(text: string, status: Message["status"]) {
    const sent = await send(text);
    await stores.queue.claim(alice.sub, sent.messageId, "worker", new Date(Date.now() + 60_000));
    await stores.chatStore.putMessage(alice.sub, {
      id: replyIdFor(sent.messageId),
      conversationId: sent.conversationId,
      role: "assistant",
      content: status === "complete" ? "Done." : "",
      status,
      createdAt: new Date().toISOString(),
      replyTo: sent.messageId,
    });
    await stores.queue.complete(alice.sub, sent.messageId, "worker");
    return sent;
  }
  const retryParams = (id: string, messageId: string) => ({ params: Promise.resolve({ id, messageId }) });
  const retryPath = (id: string, messageId: string) => `/api/conversations/${id}/messages/${messageId}/retry`;
  async function messagesOf(conversationId: string): Promise<{ id: string; role: string }[]> {
    const res = await routes.messages.GET(
      req("GET", `/api/conversations/${conversationId}/messages`),
      params(conversationId),
    );
    return ((await res.json()) as { items: { id: string; role: string }[] }).items;
  }

  it("202 runs a failed message again without a second copy; a double click queues it once", async () => {
    const { conversationId, messageId } = await answered("a flaky question", "error");
    const path = retryPath(conversationId, messageId);
    const first = await routes.retry.POST(req("POST", path), retryParams(conversationId, messageId));
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ conversationId, messageId, queued: true });
    const again = await routes.retry.POST(req("POST", path), retryParams(conversationId, messageId));
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ queued: false });
    expect(await messagesOf(conversationId)).toEqual([
      expect.objectContaining({ id: messageId, role: "user" }),
    ]);
    const queued = (await stores.queue.list(alice.sub)).filter((i) => i.conversationId === conversationId);
    expect(queued.map((i) => [i.id, i.attempts])).toEqual([[messageId, 0]]);
  });

  it("409 for a message whose reply did not fail, 404 for someone else's, 400 for a bad id; nothing written", async () => {
    const done = await answered("a good question", "complete");
    const msg = await expectError(
      await routes.retry.POST(
        req("POST", retryPath(done.conversationId, done.messageId)),
        retryParams(done.conversationId, done.messageId),
      ),
      409,
      "conflict",
    );
    expect(msg).toMatch(/only a failed reply can be retried/);

    const failed = await answered("alice's failed question", "error");
    const path = retryPath(failed.conversationId, failed.messageId);
    await expectError(
      await routes.retry.POST(
        req("POST", path, { token: bob.accessToken }),
        retryParams(failed.conversationId, failed.messageId),
      ),
      404,
      "not_found",
    );
    await expectError(
      await routes.retry.POST(
        req("POST", path, { token: null }),
        retryParams(failed.conversationId, failed.messageId),
      ),
      401,
      "unauthenticated",
    );
    await expectError(
      await routes.retry.POST(req("POST", path), retryParams(failed.conversationId, "NOT_AN_ID")),
      400,
      "bad_request",
    );
    expect((await messagesOf(failed.conversationId)).map((m) => m.role)).toEqual(["user", "assistant"]);
    expect((await stores.queue.list(alice.sub)).some((i) => i.conversationId === failed.conversationId)).toBe(
      false,
    );
    expect((await stores.queue.list(bob.sub)).some((i) => i.conversationId === failed.conversationId)).toBe(
      false,
    );
  });
});

describe("runtime", () => {
  it("status needs a token and reports the caller's runtime", async () => {
    await expectError(
      await routes.status.GET(req("GET", "/api/runtime/status", { token: null })),
      401,
      "unauthenticated",
    );
    const res = await routes.status.GET(req("GET", "/api/runtime/status", { token: bob.accessToken }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { state: string; pending: number };
    expect(["asleep", "waking", "ready", "busy", "stopping"]).toContain(body.state);
  });

  it("warm needs a token and answers 202", async () => {
    await expectError(
      await routes.warm.POST(req("POST", "/api/runtime/warm", { token: null })),
      401,
      "unauthenticated",
    );
    const res = await routes.warm.POST(req("POST", "/api/runtime/warm"));
    expect(res.status).toBe(202);
  });
});

describe("settings", () => {
  it("GET needs a token; PUT stores a key that is never returned", async () => {
    await expectError(
      await routes.settings.GET(req("GET", "/api/settings", { token: null })),
      401,
      "unauthenticated",
    );
    const before = await routes.settings.GET(req("GET", "/api/settings", { token: bob.accessToken }));
    expect(await before.json()).toMatchObject({ hasApiKey: false, prewarm: true });
    const put = await routes.settings.PUT(
      req("PUT", "/api/settings", {
        token: bob.accessToken,
        body: { apiKey: "sk-route-test-secret", prewarm: false, model: "claude-opus-4" },
      }),
    );
    expect(put.status).toBe(200);
    const text = await put.text();
    expect(text).not.toContain("sk-route-test-secret");
    expect(JSON.parse(text)).toMatchObject({ hasApiKey: true, prewarm: false, model: "claude-opus-4" });
    const after = await routes.settings.GET(req("GET", "/api/settings", { token: bob.accessToken }));
    const afterText = await after.text();
    expect(afterText).not.toContain("sk-route-test-secret");
    expect(JSON.parse(afterText)).toMatchObject({ hasApiKey: true, prewarm: false });
    // Alice's settings are her own.
    const alices = await routes.settings.GET(req("GET", "/api/settings"));
    expect(await alices.json()).toMatchObject({ hasApiKey: false, prewarm: true });
  });

  it("PUT: 400 for unknown fields, bad values, and an OpenAI-compatible provider without a base URL", async () => {
    for (const body of [
      { colour: "blue" },
      { idleTimeoutMinutes: 0 },
      { baseUrl: "file:///etc/passwd" },
      { provider: "openai-compatible" },
    ]) {
      await expectError(
        await routes.settings.PUT(req("PUT", "/api/settings", { token: bob.accessToken, body })),
        400,
        "bad_request",
      );
    }
    await expectError(
      await routes.settings.PUT(req("PUT", "/api/settings", { token: bob.accessToken, raw: "nope" })),
      400,
      "bad_request",
    );
  });
});
