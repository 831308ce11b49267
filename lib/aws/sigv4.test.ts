import { describe, expect, it } from "vitest";
import { signRealtimeAuthorization, signRequest, verifySignature } from "./sigv4";

const creds = { accessKeyId: "TESTKEYSIGV400000001", secretAccessKey: "sigv4-test-secret" };
const endpoint = "http://127.0.0.1:4311/event";
const body = JSON.stringify({ channel: "/chat/a/b", events: ['{"n":1}'] });

async function verify(
  headers: Record<string, string>,
  overrides: Partial<Parameters<typeof verifySignature>[0]> = {},
) {
  return verifySignature({
    method: "POST",
    path: "/event",
    headers,
    body,
    region: "us-east-1",
    lookupSecret: (id) => (id === creds.accessKeyId ? creds.secretAccessKey : undefined),
    ...overrides,
  });
}

describe("SigV4 sign and verify", () => {
  it("verifies its own signature over the realtime header set", async () => {
    const headers = await signRealtimeAuthorization({
      httpEndpoint: endpoint,
      region: "us-east-1",
      credentials: creds,
      body,
    });
    expect(headers.host).toBe("127.0.0.1:4311");
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=TESTKEYSIGV400000001\/\d{8}\/us-east-1\/appsync\/aws4_request, SignedHeaders=accept;content-encoding;content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(await verify(headers)).toEqual({ ok: true, accessKeyId: creds.accessKeyId });
  });

  it("includes the session token of temporary credentials in what it signs", async () => {
    const headers = await signRequest({
      method: "POST",
      url: endpoint,
      body,
      region: "us-east-1",
      credentials: async () => ({ ...creds, sessionToken: "session-token" }),
    });
    expect(headers["x-amz-security-token"]).toBe("session-token");
    expect(headers.authorization).toContain("x-amz-security-token");
    expect(await verify(headers)).toMatchObject({ ok: true });
    expect(await verify({ ...headers, "x-amz-security-token": "other" })).toMatchObject({ ok: false });
  });

  it.each([
    ["a changed body", { body: body.replace("/b", "/c") }, "the request signature does not match"],
    ["another path", { path: "/other" }, "the request signature does not match"],
    ["another region", { region: "eu-west-1" }, "credential scope region us-east-1 is not eu-west-1"],
    ["another service", { service: "execute-api" }, "credential scope service appsync is not execute-api"],
    ["an unknown key", { lookupSecret: (): string | undefined => undefined }, "unknown access key"],
    [
      "a wrong secret",
      { lookupSecret: (): string | undefined => "wrong" },
      "the request signature does not match",
    ],
    [
      "a clock 6 minutes ahead",
      { now: new Date(Date.now() + 6 * 60_000) },
      "signature expired or x-amz-date too far from now",
    ],
  ] as const)("rejects %s", async (_name, overrides, reason) => {
    const headers = await signRequest({
      method: "POST",
      url: endpoint,
      body,
      region: "us-east-1",
      credentials: creds,
    });
    expect(await verify(headers, overrides as never)).toEqual({ ok: false, reason });
  });

  it("rejects changed signed headers, a malformed header and an unsigned host", async () => {
    const headers = await signRequest({
      method: "POST",
      url: endpoint,
      headers: { "content-type": "application/json" },
      body,
      region: "us-east-1",
      credentials: creds,
    });
    expect(await verify({ ...headers, "content-type": "text/plain" })).toMatchObject({ ok: false });
    expect(await verify({ ...headers, host: "127.0.0.1:9999" })).toMatchObject({ ok: false });
    expect(await verify({ ...headers, authorization: "AWS4-HMAC-SHA256 nonsense" })).toEqual({
      ok: false,
      reason: "malformed SigV4 authorization",
    });
    const noHost = headers.authorization?.replace("host;", "") ?? "";
    expect(await verify({ ...headers, authorization: noHost })).toEqual({
      ok: false,
      reason: "host and x-amz-date must be signed",
    });
  });

  it("rejects an x-amz-content-sha256 that does not describe the body", async () => {
    const headers = await signRequest({
      method: "POST",
      url: endpoint,
      headers: { "x-amz-content-sha256": "0".repeat(64) },
      body,
      region: "us-east-1",
      credentials: creds,
    });
    expect(await verify(headers)).toEqual({
      ok: false,
      reason: "x-amz-content-sha256 does not match the body",
    });
  });
});
