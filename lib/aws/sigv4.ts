import { createHash, timingSafeEqual } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * SigV4 signing and verification for AppSync Events, shared by the publisher, the
 * subscriber and the local emulator, so that what the emulator accepts is exactly what
 * our clients send (and what aws-amplify sends: it signs every header it passes).
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Structurally the same as the AWS SDK's `AwsCredentialIdentityProvider`. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export type CredentialsInput = AwsCredentials | AwsCredentialsProvider;

export const APPSYNC_SERVICE = "appsync";

/**
 * The headers aws-amplify signs for the realtime WebSocket (connect, subscribe, publish).
 * We send the same set so the emulator and AWS see identical requests from both clients.
 */
export const REALTIME_SIGNED_HEADERS = {
  accept: "application/json, text/javascript",
  "content-encoding": "amz-1.0",
  "content-type": "application/json; charset=UTF-8",
} as const;

export function toCredentialsProvider(input: CredentialsInput): AwsCredentialsProvider {
  if (typeof input === "function") return input;
  return async () => input;
}

/** The AWS SDK's default provider chain, loaded lazily: local mode never needs it. */
export function defaultCredentialsProvider(): AwsCredentialsProvider {
  let provider: AwsCredentialsProvider | undefined;
  return async () => {
    if (!provider) {
      const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
      provider = fromNodeProviderChain();
    }
    return provider();
  };
}

export interface SignInput {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string;
  region: string;
  service?: string;
  credentials: CredentialsInput;
  signingDate?: Date;
}

/**
 * Signs a request and returns all headers to send (the given ones plus `host`,
 * `x-amz-date`, `authorization` and, with temporary credentials, `x-amz-security-token`).
 */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const url = typeof input.url === "string" ? new URL(input.url) : input.url;
  const signer = new SignatureV4({
    credentials: toCredentialsProvider(input.credentials),
    region: input.region,
    service: input.service ?? APPSYNC_SERVICE,
    sha256: Sha256,
    // aws-amplify does not send x-amz-content-sha256 either; AppSync hashes the body itself.
    applyChecksum: false,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { ...lowercaseKeys(input.headers ?? {}), host: url.host },
      body: input.body,
    },
    input.signingDate ? { signingDate: input.signingDate } : {},
  );
  return { ...(signed.headers as Record<string, string>) };
}

/**
 * The authorization object of the AppSync Events realtime protocol for IAM: a SigV4
 * signature of `POST <httpEndpoint>` with `body` (`{}` on connect, `{"channel":…}` on
 * subscribe, `{"channel":…,"events":[…]}` on publish).
 */
export function signRealtimeAuthorization(opts: {
  httpEndpoint: string;
  region: string;
  credentials: CredentialsInput;
  body: string;
  signingDate?: Date;
}): Promise<Record<string, string>> {
  return signRequest({
    method: "POST",
    url: opts.httpEndpoint,
    headers: { ...REALTIME_SIGNED_HEADERS },
    body: opts.body,
    region: opts.region,
    credentials: opts.credentials,
    signingDate: opts.signingDate,
  });
}

export interface VerifyInput {
  method: string;
  /** The request path as sent, e.g. `/event`. */
  path: string;
  query?: Record<string, string>;
  /** Request headers (any case). For the realtime protocol: the authorization object. */
  headers: Record<string, string | string[] | undefined>;
  body: string | Uint8Array;
  region: string;
  service?: string;
  /** The secret for an access key id, or undefined when the key is unknown. */
  lookupSecret: (accessKeyId: string) => string | undefined;
  now?: Date;
  /** AWS rejects requests whose x-amz-date is off by more than 5 minutes. */
  maxSkewMs?: number;
}

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; reason: string };

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request,\s*SignedHeaders=([a-z0-9;-]{1,2000}),\s*Signature=([0-9a-f]{64})$/;
const DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function isSigV4Authorization(value: string | undefined): boolean {
  return typeof value === "string" && value.startsWith("AWS4-HMAC-SHA256 ");
}

/**
 * Verifies a SigV4 `Authorization` header by signing the same canonical request again
 * with the stored secret and comparing in constant time. Reasons never contain secrets.
 */
export async function verifySignature(input: VerifyInput): Promise<VerifyResult> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : String(v);
  }
  const match = AUTH_PATTERN.exec(headers.authorization ?? "");
  if (!match) return { ok: false, reason: "malformed SigV4 authorization" };
  const [, accessKeyId, shortDate, region, service, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (region !== input.region)
    return { ok: false, reason: `credential scope region ${region} is not ${input.region}` };
  const expectedService = input.service ?? APPSYNC_SERVICE;
  if (service !== expectedService)
    return { ok: false, reason: `credential scope service ${service} is not ${expectedService}` };

  const amzDate = headers["x-amz-date"] ?? "";
  const d = DATE_PATTERN.exec(amzDate);
  if (!d) return { ok: false, reason: "missing or malformed x-amz-date" };
  const [y, mo, da, h, mi, se] = d.slice(1).map(Number) as [number, number, number, number, number, number];
  const signingDate = new Date(Date.UTC(y, mo - 1, da, h, mi, se));
  if (amzDate.slice(0, 8) !== shortDate)
    return { ok: false, reason: "credential scope date does not match x-amz-date" };
  const now = input.now ?? new Date();
  const skew = Math.abs(now.getTime() - signingDate.getTime());
  if (skew > (input.maxSkewMs ?? 5 * 60_000))
    return { ok: false, reason: "signature expired or x-amz-date too far from now" };

  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date"))
    return { ok: false, reason: "host and x-amz-date must be signed" };
  const toSign: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headers[name];
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    toSign[name] = value;
  }
  // With x-amz-content-sha256 the signature covers the header, not the body: make sure the
  // header describes the body we actually received.
  const declaredHash = headers["x-amz-content-sha256"];
  if (declaredHash !== undefined) {
    const actual = createHash("sha256").update(input.body).digest("hex");
    if (declaredHash !== actual) return { ok: false, reason: "x-amz-content-sha256 does not match the body" };
  }

  const secretAccessKey = input.lookupSecret(accessKeyId);
  if (secretAccessKey === undefined) return { ok: false, reason: "unknown access key" };

  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const host = toSign.host ?? "";
  const resigned = await signer.sign(
    {
      method: input.method.toUpperCase(),
      protocol: "https:",
      hostname: host.replace(/:\d+$/, ""),
      path: input.path,
      query: input.query ?? {},
      headers: toSign,
      body: input.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const again = AUTH_PATTERN.exec(String(resigned.headers.authorization ?? ""));
  if (!again || again[5] !== signedHeaderList)
    return { ok: false, reason: "signed headers could not be reproduced" };
  const a = Buffer.from(again[6] ?? "", "hex");
  const b = Buffer.from(signature, "hex");
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return { ok: false, reason: "the request signature does not match" };
  return { ok: true, accessKeyId };
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
