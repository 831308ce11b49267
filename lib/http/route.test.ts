import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { JwtTokenVerifier } from "../aws/jwt-token-verifier";
import type { Container } from "../container";
import { LIMITS } from "../contracts";
import { AppError } from "../errors";
import { ensureLocalAuth, type LocalCognito, startLocalCognito } from "../local-cloud/cognito";
import { route as appRoute, json } from "./route";

let dir: string;
let cognito: LocalCognito;
let token: string;
let sub: string;
/** The wrapper only reads the verifier of its container. */
let container: Container;
/** `route` bound to this test's container (what `.with` is for). */
const route = ((spec, handler) => appRoute(spec, handler).with(container)) as typeof appRoute;

async function passwordSignIn(email: string, password: string, clientId: string): Promise<string> {
  const res = await fetch(cognito.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: clientId,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const body = (await res.json()) as { AuthenticationResult: { AccessToken: string } };
  return body.AuthenticationResult.AccessToken;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "route-test-"));
  cognito = await startLocalCognito({ dir: join(dir, "cognito") });
  const setup = await ensureLocalAuth(cognito, dir);
  const verifier = new JwtTokenVerifier({
    issuer: cognito.issuer(setup.userPoolId),
    jwksUri: cognito.jwksUri(setup.userPoolId),
    clientId: setup.clientId,
    allowInsecureJwks: true,
  });
  container = { verifier } as unknown as Container;
  token = await passwordSignIn(setup.firstUser.email, setup.firstUser.password, setup.clientId);
  sub = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).sub;
});

afterAll(async () => {
  await cognito?.close();
  rmSync(dir, { recursive: true, force: true });
});

const bodySchema = z.object({ title: z.string().min(1).max(20), count: z.number().int() });

function post(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/api/thing", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body,
    // Needed for stream bodies; harmless for the others.
    duplex: "half",
  } as RequestInit);
}

async function expectError(res: Response, status: number, code: string): Promise<{ message: string }> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

describe("route()", () => {
  const handler = () =>
    route({ body: bodySchema }, async ({ body, user }) => json({ got: body, sub: user.sub }, 202));

  it("passes a valid, authenticated request through (the control case)", async () => {
    const res = await handler()(post(JSON.stringify({ title: "hi", count: 2 })));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ got: { title: "hi", count: 2 }, sub });
  });

  it("400s on malformed JSON", async () => {
    const err = await expectError(await handler()(post("{not json")), 400, "bad_request");
    expect(err.message).toMatch(/not valid JSON/);
  });

  it("400s on wrong types, listing every bad field", async () => {
    const res = await handler()(post(JSON.stringify({ title: 5, count: "x" })));
    const err = await expectError(res, 400, "bad_request");
    expect(err.message).toMatch(/title/);
    expect(err.message).toMatch(/count/);
  });

  it("400s on an empty body and 415 on a non-JSON content type", async () => {
    await expectError(await handler()(post("")), 400, "bad_request");
    await expectError(
      await handler()(post("title=x", { "content-type": "application/x-www-form-urlencoded" })),
      415,
      "unsupported_media_type",
    );
  });

  it("413s on an oversized body, declared or streamed", async () => {
    const big = JSON.stringify({ title: "x".repeat(LIMITS.bodyBytes), count: 1 });
    await expectError(await handler()(post(big)), 413, "payload_too_large");
    // A chunked body has no content-length: the limit must hold while reading.
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > LIMITS.bodyBytes * 2) controller.close();
        else {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        }
      },
    });
    await expectError(await handler()(post(stream)), 413, "payload_too_large");
    expect(sent).toBeLessThan(LIMITS.bodyBytes * 2);
  });

  it("401s without a token, with a malformed header, and with a forged token", async () => {
    const ok = JSON.stringify({ title: "hi", count: 2 });
    const missing = new Request("http://localhost/api/thing", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ok,
    });
    const res = await handler()(missing);
    await expectError(res, 401, "unauthenticated");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectError(await handler()(post(ok, { authorization: "Basic abc" })), 401, "unauthenticated");
    const [h, p] = token.split(".");
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p ?? "", "base64url").toString()), sub: "someone-else" }),
    ).toString("base64url");
    const forged = `${h}.${forgedPayload}.${token.split(".")[2]}`;
    await expectError(
      await handler()(post(ok, { authorization: `Bearer ${forged}` })),
      401,
      "unauthenticated",
    );
  });

  it("validates query and path params", async () => {
    const get = route(
      {
        query: z.object({ limit: z.coerce.number().int().max(50) }),
        params: z.object({ id: z.string().uuid() }),
      },
      async ({ query, params }) => ({ query, params }),
    );
    const req = (q: string) =>
      new Request(`http://localhost/api/thing?${q}`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await get(req("limit=5"), { params: Promise.resolve({ id: sub }) });
    expect(await ok.json()).toEqual({ query: { limit: 5 }, params: { id: sub } });
    await expectError(
      await get(req("limit=500"), { params: Promise.resolve({ id: sub }) }),
      400,
      "bad_request",
    );
    await expectError(
      await get(req("limit=5"), { params: Promise.resolve({ id: "x" }) }),
      400,
      "bad_request",
    );
  });

  it("maps AppErrors to their status and hides internal errors behind a generic 500", async () => {
    const notFound = route({ auth: false }, () => {
      throw new AppError("not_found", "No such conversation");
    });
    const err = await expectError(await notFound(new Request("http://localhost/x")), 404, "not_found");
    expect(err.message).toBe("No such conversation");

    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const boom = route({ auth: false }, () => {
      throw new Error("connect ECONNREFUSED secret-host:1234");
    });
    const res = await boom(new Request("http://localhost/x"));
    const internal = await expectError(res, 500, "internal");
    expect(internal.message).not.toMatch(/secret-host/);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  it("lets public routes skip authentication and returns 204 for no content", async () => {
    const pub = route({ auth: false }, async ({ user }) => (user === undefined ? undefined : { user }));
    const res = await pub(new Request("http://localhost/x"));
    expect(res.status).toBe(204);
  });
});
