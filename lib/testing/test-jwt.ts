import { generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
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
