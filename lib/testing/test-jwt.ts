import {
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import { createRequire } from "node:module";
import { JwtVerifier } from "aws-jwt-verify";

/**
 * A throw-away RS256 issuer for tests: mints Cognito-shaped access tokens and verifies
 * them with aws-jwt-verify against its own JWKS (cached, so no HTTP is involved).
 */
export function createTestJwtIssuer(issuer = "http://127.0.0.1/test-user-pool") {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = {
    ...(publicKey.export({ format: "jwk" }) as Record<string, string>),
    kid,
    alg: "RS256",
    use: "sig",
  };
  const verifier = JwtVerifier.create({ issuer, audience: null, jwksUri: `${issuer}/.well-known/jwks.json` });
  verifier.cacheJwks({ keys: [jwk as never] });

  function mint(
    sub: string,
    opts: { expiresInSeconds?: number; key?: KeyObject; issuer?: string } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", kid, typ: "JWT" };
    const payload = {
      sub,
      iss: opts.issuer ?? issuer,
      token_use: "access",
      client_id: "test-client",
      username: sub,
      iat: now,
      exp: now + (opts.expiresInSeconds ?? 3600),
    };
    const data = `${b64url(header)}.${b64url(payload)}`;
    const signature = sign("RSA-SHA256", Buffer.from(data), opts.key ?? privateKey).toString("base64url");
    return `${data}.${signature}`;
  }

  async function verifyUserToken(jwt: string): Promise<{ sub: string }> {
    const payload = await verifier.verify(jwt);
    if (typeof payload.sub !== "string") throw new Error("token has no sub");
    return { sub: payload.sub };
  }

  /** A different key with the same kid: tokens it signs must be rejected. */
  const forgeryKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

  return { issuer, mint, verifyUserToken, forgeryKey };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A JWT with exactly this header and payload, signed RS256 with `key` (or HS256 with a secret, or unsigned). */
export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject | { hmacSecret: string } | "none",
): string {
  const data = `${b64url(header)}.${b64url(payload)}`;
  if (key === "none") return `${data}.`;
  const signature =
    "hmacSecret" in key
      ? createHmac("sha256", key.hmacSecret).update(data).digest("base64url")
      : sign("RSA-SHA256", Buffer.from(data), key).toString("base64url");
  return `${data}.${signature}`;
}

/**
 * cognito-local signs every token with a key pair that ships in its npm package (which is
 * why local mode alone trusts its issuer). With it a test mints tokens the local verifier
 * checks all the way through: expired ones, ones for another app client, id tokens.
 */
export function cognitoLocalKeys(): { privateKey: KeyObject; publicPem: string; kid: string } {
  const require = createRequire(createRequire(import.meta.url).resolve("cognito-local"));
  const priv = require("cognito-local/lib/keys/cognitoLocal.private.json") as { pem: string };
  const pub = require("cognito-local/lib/keys/cognitoLocal.public.json") as {
    pem?: string;
    jwk: { kid: string };
  };
  return { privateKey: createPrivateKey(priv.pem), publicPem: pub.pem ?? "", kid: pub.jwk.kid };
}

/** An access token shaped like cognito-local's own, with `claims` overriding any field. */
export function mintCognitoLocalToken(
  pool: { issuer: string; clientId: string },
  sub: string,
  opts: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: KeyObject } = {},
): string {
  const keys = cognitoLocalKeys();
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { alg: "RS256", typ: "JWT", kid: keys.kid, ...opts.header },
    {
      sub,
      iss: pool.issuer,
      client_id: pool.clientId,
      token_use: "access",
      scope: "aws.cognito.signin.user.admin",
      username: sub,
      auth_time: now,
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
      ...opts.claims,
    },
    opts.key ?? keys.privateKey,
  );
}
