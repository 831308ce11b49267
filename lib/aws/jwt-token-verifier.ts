import { JwtVerifier } from "aws-jwt-verify";
import { FetchError, NonRetryableFetchError } from "aws-jwt-verify/error";
import type { Fetcher } from "aws-jwt-verify/https";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { userIdSchema } from "../contracts";
import { AppError, errorMessage } from "../errors";
import type { TokenVerifier, VerifiedUser } from "../ports";

export interface JwtTokenVerifierOptions {
  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>`, or cognito-local's `http://127.0.0.1:PORT/<poolId>`. */
  issuer: string;
  jwksUri: string;
  /** The app client id: checked against `client_id` (access tokens) or `aud` (id tokens). */
  clientId: string;
  /** Which Cognito tokens to accept. The app sends access tokens; default `["access"]`. */
  tokenUse?: ("access" | "id")[];
  /**
   * Allow an `http:` JWKS URI (cognito-local). Only the composition root sets this, and
   * only in local mode: cognito-local's signing key is public, so its issuer must never be
   * trusted anywhere else.
   */
  allowInsecureJwks?: boolean;
}

/** Fetches the JWKS over plain HTTP with the platform `fetch` (aws-jwt-verify's own fetcher is https-only). */
class HttpFetcher implements Fetcher {
  async fetch(uri: string): Promise<ArrayBuffer> {
    let res: Response;
    try {
      res = await fetch(uri, { signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      throw new FetchError(uri, errorMessage(err));
    }
    if (res.status !== 200)
      throw new NonRetryableFetchError(uri, `Status code is ${res.status}, expected 200`);
    return res.arrayBuffer();
  }
}

/**
 * TokenVerifier for Cognito user pool tokens with aws-jwt-verify's `JwtVerifier` (the
 * former `JwtRsaVerifier`): issuer + JWKS URI, signature, expiry, `token_use` and the app
 * client. `CognitoJwtVerifier` cannot take a custom issuer, which local mode needs, so this
 * one class serves both the real Cognito and cognito-local.
 */
export class JwtTokenVerifier implements TokenVerifier {
  private readonly verifier;
  private readonly tokenUse: ("access" | "id")[];

  constructor(private readonly opts: JwtTokenVerifierOptions) {
    const jwks = new URL(opts.jwksUri);
    if (jwks.protocol !== "https:" && !opts.allowInsecureJwks)
      throw new Error(`refusing a non-https JWKS URI outside local mode: ${opts.jwksUri}`);
    this.tokenUse = opts.tokenUse ?? ["access"];
    const clientId = opts.clientId;
    const tokenUse = this.tokenUse;
    this.verifier = JwtVerifier.create(
      {
        issuer: opts.issuer,
        jwksUri: opts.jwksUri,
        // Access tokens carry no `aud`; the client is checked below for both kinds.
        audience: null,
        customJwtCheck: ({ payload }) => {
          const use = payload.token_use;
          if (use !== "access" && use !== "id") throw new Error("token_use is missing");
          if (!tokenUse.includes(use)) throw new Error(`token_use ${use} is not accepted`);
          const client = use === "access" ? payload.client_id : payload.aud;
          if (client !== clientId) throw new Error("token was issued to another client");
          if (typeof payload.sub !== "string" || payload.sub === "") throw new Error("token has no sub");
        },
      },
      {
        jwksCache: new SimpleJwksCache(jwks.protocol === "http:" ? { fetcher: new HttpFetcher() } : {}),
      },
    );
  }

  async verify(token: string): Promise<VerifiedUser> {
    if (typeof token !== "string" || token.length === 0 || token.length > 8_192)
      throw new AppError("unauthenticated", "Missing or malformed access token");
    let payload: Record<string, unknown>;
    try {
      payload = (await this.verifier.verify(token)) as Record<string, unknown>;
    } catch (err) {
      // A JWKS that cannot be fetched is an outage, not a bad token: the client must not sign out.
      // (aws-jwt-verify's wait period is not one: it follows a JWKS fetched fine that lacked
      // the token's kid, so a second token with an unknown kid is as bad as the first.)
      if (err instanceof FetchError)
        throw new AppError("unavailable", "The sign-in service is unreachable; try again shortly", {
          cause: err,
        });
      throw new AppError("unauthenticated", "Invalid or expired access token", { cause: err });
    }
    // The sub becomes a channel segment and a key prefix: insist on its shape.
    const sub = userIdSchema.safeParse(payload.sub);
    if (!sub.success) throw new AppError("unauthenticated", "Invalid or expired access token");
    const email = typeof payload.email === "string" ? payload.email : undefined;
    return email ? { sub: sub.data, email } : { sub: sub.data };
  }

  /** The issuer this verifier trusts (for diagnostics; never a secret). */
  get issuer(): string {
    return this.opts.issuer;
  }
}
