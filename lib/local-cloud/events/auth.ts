import { timingSafeEqual } from "node:crypto";
import { isSigV4Authorization, verifySignature } from "../../aws/sigv4";
import type { EventsIdentity } from "./namespaces";
import { type EventsError, unauthorized } from "./protocol";

export interface AuthenticatorOptions {
  region: string;
  apiKey?: string;
  iamCredentials: { accessKeyId: string; secretAccessKey: string }[];
  verifyUserToken: (jwt: string) => Promise<{ sub: string }>;
  /** The path SigV4 signatures cover: the HTTP endpoint's path (`/event`). */
  signedPath: string;
}

export type AuthResult = { ok: true; identity: EventsIdentity } | { ok: false; error: EventsError };

/**
 * Checks the credentials of one request the way AppSync Events picks the auth mode:
 * `x-api-key` → API key, a SigV4 `Authorization` → IAM, any other `Authorization` →
 * Cognito JWT. `body` is what a SigV4 signature must cover.
 */
export function createAuthenticator(opts: AuthenticatorOptions) {
  const secrets = new Map(opts.iamCredentials.map((c) => [c.accessKeyId, c.secretAccessKey]));

  return async function authenticate(
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): Promise<AuthResult> {
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v !== undefined) lower[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : String(v);
    }
    const apiKey = lower["x-api-key"];
    const authorization = lower.authorization;

    if (apiKey !== undefined) {
      if (!opts.apiKey || !safeEqual(apiKey, opts.apiKey))
        return { ok: false, error: unauthorized("invalid API key") };
      return { ok: true, identity: { mode: "API_KEY" } };
    }
    if (authorization === undefined || authorization === "") {
      return { ok: false, error: unauthorized("missing authorization") };
    }
    if (isSigV4Authorization(authorization)) {
      const result = await verifySignature({
        method: "POST",
        path: opts.signedPath,
        headers: lower,
        body,
        region: opts.region,
        lookupSecret: (id) => secrets.get(id),
      });
      if (!result.ok) return { ok: false, error: unauthorized(`IAM: ${result.reason}`) };
      return { ok: true, identity: { mode: "AWS_IAM", accessKeyId: result.accessKeyId } };
    }
    try {
      const token = authorization.replace(/^Bearer\s+/i, "");
      const { sub } = await opts.verifyUserToken(token);
      if (!sub) return { ok: false, error: unauthorized("token has no sub") };
      return { ok: true, identity: { mode: "AMAZON_COGNITO_USER_POOLS", sub } };
    } catch {
      // The verifier's message may quote token contents; say only that it failed.
      return { ok: false, error: unauthorized("invalid or expired token") };
    }
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
