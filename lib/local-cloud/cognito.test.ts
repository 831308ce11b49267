import { createPrivateKey, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Amplify } from "aws-amplify";
import { confirmSignIn, fetchAuthSession, signIn, signOut } from "aws-amplify/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwtTokenVerifier } from "../aws/jwt-token-verifier";
import { authErrorMessage } from "../client/auth";
import { AppError } from "../errors";
import {
  createLocalUser,
  ensureLocalAuth,
  type LocalAuthSetup,
  type LocalCognito,
  startLocalCognito,
} from "./cognito";

// cognito-local's signing key ships in its npm package: that is exactly why its issuer is
// trusted in local mode only. The tests use it to mint tokens the real server would mint.
const require = createRequire(import.meta.url);
const cognitoKeys = require(
  join(require.resolve("cognito-local").replace(/index\.js$/, ""), "keys/cognitoLocal.private.json"),
) as { pem: string };

function signJwt(payload: Record<string, unknown>, key: KeyObject, kid = "CognitoLocal"): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${enc({ alg: "RS256", typ: "JWT", kid })}.${enc(payload)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(key).toString("base64url");
  return `${input}.${signature}`;
}

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

let dir: string;
let cognito: LocalCognito;
let setup: LocalAuthSetup;
let verifier: JwtTokenVerifier;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cognito-test-"));
  cognito = await startLocalCognito({ dir: join(dir, "cognito") });
  setup = await ensureLocalAuth(cognito, dir);
  verifier = new JwtTokenVerifier({
    issuer: cognito.issuer(setup.userPoolId),
    jwksUri: cognito.jwksUri(setup.userPoolId),
    clientId: setup.clientId,
    allowInsecureJwks: true,
  });
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: setup.userPoolId,
        userPoolClientId: setup.clientId,
        userPoolEndpoint: cognito.endpoint,
        loginWith: { email: true },
      },
    },
  });
});

afterAll(async () => {
  await signOut().catch(() => undefined);
  await cognito?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function currentAccessToken(forceRefresh = false): Promise<string> {
  const session = await fetchAuthSession({ forceRefresh });
  const token = session.tokens?.accessToken.toString();
  if (!token) throw new Error("no access token in the session");
  return token;
}

describe("local auth setup", () => {
  it("creates the pool, client and first user once, and stores the credentials 0600", async () => {
    expect(setup.created).toBe(true);
    expect(setup.userPoolId).toMatch(/^[a-z]+_[A-Za-z0-9]+$/);
    const file = join(dir, "first-user.json");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(setup.firstUser);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await ensureLocalAuth(cognito, dir);
    expect(again).toEqual({ ...setup, created: false });
  });
});

describe("sign-in through aws-amplify against cognito-local", () => {
  it("signs in with USER_PASSWORD_AUTH, and the verifier accepts the access token", async () => {
    const result = await signIn({
      username: setup.firstUser.email,
      password: setup.firstUser.password,
      options: { authFlowType: "USER_PASSWORD_AUTH" },
    });
    expect(result).toEqual({ isSignedIn: true, nextStep: { signInStep: "DONE" } });
    const token = await currentAccessToken();
    const user = await verifier.verify(token);
    expect(user.sub).toBe(decode(token).sub);
    expect(user.sub).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refreshes through GetTokensFromRefreshToken, and the new token verifies", async () => {
    const before = await currentAccessToken();
    const after = await currentAccessToken(true);
    expect(decode(after).jti).not.toBe(decode(before).jti);
    expect((await verifier.verify(after)).sub).toBe(decode(before).sub);
  });

  it("answers GetTokensFromRefreshToken with AWS's error shape for a bad refresh token", async () => {
    const res = await fetch(cognito.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
      },
      body: JSON.stringify({ ClientId: setup.clientId, RefreshToken: "not-a-token" }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-amzn-errortype")).toBe("NotAuthorizedException");
    expect(await res.json()).toMatchObject({ __type: "NotAuthorizedException" });
  });

  it("rejects a wrong password with an error the sign-in form reads as one", async () => {
    await signOut();
    const err = await signIn({
      username: setup.firstUser.email,
      password: "Wrong-password-1",
      options: { authFlowType: "USER_PASSWORD_AUTH" },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // cognito-local names it InvalidPasswordException, Cognito NotAuthorizedException.
    expect(authErrorMessage(err)).toBe("Wrong email or password.");
  });

  it("handles NEW_PASSWORD_REQUIRED for a user with a temporary password", async () => {
    const email = "invited@example.com";
    const { sub } = await createLocalUser(cognito, setup.userPoolId, {
      email,
      password: "Temp-pass-1!",
      temporary: true,
    });
    const first = await signIn({
      username: email,
      password: "Temp-pass-1!",
      options: { authFlowType: "USER_PASSWORD_AUTH" },
    });
    expect(first.nextStep.signInStep).toBe("CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED");
    const done = await confirmSignIn({ challengeResponse: "New-pass-2!" });
    expect(done.isSignedIn).toBe(true);
    expect((await verifier.verify(await currentAccessToken())).sub).toBe(sub);
    await signOut();
    const again = await signIn({
      username: email,
      password: "New-pass-2!",
      options: { authFlowType: "USER_PASSWORD_AUTH" },
    });
    expect(again.isSignedIn).toBe(true);
    await signOut();
  });
});

describe("JwtTokenVerifier", () => {
  const localKey = () => createPrivateKey(cognitoKeys.pem);
  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({
    sub: "11111111-2222-4333-8444-555555555555",
    token_use: "access",
    client_id: setup.clientId,
    iss: cognito.issuer(setup.userPoolId),
    iat: now(),
    exp: now() + 600,
  });

  async function rejection(token: string): Promise<AppError> {
    const err = await verifier.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }

  it("accepts a well-formed token signed with the local key (the control case)", async () => {
    expect(await verifier.verify(signJwt(claims(), localKey()))).toEqual({ sub: claims().sub });
  });

  it("rejects a token signed with another key", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect((await rejection(signJwt(claims(), privateKey))).code).toBe("unauthenticated");
  });

  it("rejects an expired token", async () => {
    const token = signJwt({ ...claims(), iat: now() - 7200, exp: now() - 3600 }, localKey());
    expect((await rejection(token)).code).toBe("unauthenticated");
  });

  it("rejects a token from another issuer", async () => {
    const token = signJwt(
      { ...claims(), iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil" },
      localKey(),
    );
    expect((await rejection(token)).code).toBe("unauthenticated");
  });

  it("rejects a token for another app client, an id token, and garbage", async () => {
    expect((await rejection(signJwt({ ...claims(), client_id: "other" }, localKey()))).code).toBe(
      "unauthenticated",
    );
    const idToken = signJwt({ ...claims(), token_use: "id", aud: setup.clientId }, localKey());
    expect((await rejection(idToken)).code).toBe("unauthenticated");
    expect((await rejection("not.a.jwt")).code).toBe("unauthenticated");
    expect((await rejection("")).code).toBe("unauthenticated");
  });

  it("reports an unreachable JWKS as unavailable, not as a bad token", async () => {
    const offline = new JwtTokenVerifier({
      issuer: cognito.issuer(setup.userPoolId),
      jwksUri: "http://127.0.0.1:9/nowhere/.well-known/jwks.json",
      clientId: setup.clientId,
      allowInsecureJwks: true,
    });
    const err = await offline.verify(signJwt(claims(), localKey())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("unavailable");
  });

  it("refuses an http JWKS unless local mode allows it", () => {
    expect(
      () =>
        new JwtTokenVerifier({
          issuer: cognito.issuer(setup.userPoolId),
          jwksUri: cognito.jwksUri(setup.userPoolId),
          clientId: setup.clientId,
        }),
    ).toThrow(/non-https/);
  });
});
