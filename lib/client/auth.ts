import { confirmSignIn, fetchAuthSession, signIn, signOut } from "aws-amplify/auth";
import { ensureAmplify } from "./amplify";

/*
 * Browser sign-in with email and password, on top of aws-amplify. Local mode uses
 * USER_PASSWORD_AUTH (cognito-local has no SRP), AWS uses SRP; /api/config says which.
 */

export type SignInStep = { status: "signed-in" } | { status: "new-password-required" };

export interface SignedInUser {
  sub: string;
  email?: string;
}

/** A message for people, from whatever aws-amplify threw. */
export function authErrorMessage(err: unknown): string {
  const name = (err as { name?: string } | undefined)?.name ?? "";
  switch (name) {
    case "NotAuthorizedException":
    case "UserNotFoundException":
    case "InvalidPasswordException":
      return "Wrong email or password.";
    case "PasswordResetRequiredException":
      return "This account needs a password reset.";
    case "UserNotConfirmedException":
      return "This account is not confirmed yet.";
    case "LimitExceededException":
    case "TooManyRequestsException":
      return "Too many attempts. Wait a minute and try again.";
    case "EmptySignInUsername":
    case "EmptySignInPassword":
      return "Enter your email and password.";
    default:
      return err instanceof Error && err.message ? err.message : "Sign-in failed. Try again.";
  }
}

function toStep(result: { isSignedIn: boolean; nextStep: { signInStep: string } }): SignInStep {
  if (result.isSignedIn) return { status: "signed-in" };
  if (result.nextStep.signInStep === "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED")
    return { status: "new-password-required" };
  throw new Error(
    `This account needs a sign-in step the app does not support (${result.nextStep.signInStep}).`,
  );
}

/** Signs in with email and password. A first sign-in with a temporary password asks for a new one. */
export async function signInWithEmail(email: string, password: string): Promise<SignInStep> {
  const config = await ensureAmplify();
  const attempt = () =>
    signIn({ username: email.trim(), password, options: { authFlowType: config.auth.authFlowType } });
  try {
    return toStep(await attempt());
  } catch (err) {
    // A stale session from another account: sign it out and try once more.
    if ((err as { name?: string }).name === "UserAlreadyAuthenticatedException") {
      await signOut();
      return toStep(await attempt());
    }
    throw err;
  }
}

/** Answers the NEW_PASSWORD_REQUIRED challenge of the sign-in in progress. */
export async function completeNewPassword(newPassword: string): Promise<SignInStep> {
  await ensureAmplify();
  return toStep(await confirmSignIn({ challengeResponse: newPassword }));
}

export async function signOutUser(): Promise<void> {
  await ensureAmplify();
  await signOut();
}

/** The current access token, refreshed by aws-amplify when it has expired; undefined when signed out. */
export async function getAccessToken(opts: { forceRefresh?: boolean } = {}): Promise<string | undefined> {
  await ensureAmplify();
  try {
    const session = await fetchAuthSession({ forceRefresh: opts.forceRefresh });
    return session.tokens?.accessToken.toString();
  } catch {
    // A refresh token that was revoked or expired means: signed out.
    return undefined;
  }
}

/** The signed-in user, or undefined. */
export async function getSignedInUser(): Promise<SignedInUser | undefined> {
  await ensureAmplify();
  let session: Awaited<ReturnType<typeof fetchAuthSession>>;
  try {
    session = await fetchAuthSession();
  } catch {
    return undefined;
  }
  const sub = session.tokens?.accessToken.payload.sub;
  if (typeof sub !== "string") return undefined;
  const email = session.tokens?.idToken?.payload.email;
  return typeof email === "string" ? { sub, email } : { sub };
}

/** Thrown by authFetch when there is no session (the caller sends the user to /sign-in). */
export class SignedOutError extends Error {
  constructor() {
    super("Signed out");
    this.name = "SignedOutError";
  }
}

/**
 * `fetch` with the user's access token. On a 401 it refreshes the token once and retries;
 * if there is no session at all it throws SignedOutError.
 */
export async function authFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const send = async (forceRefresh: boolean) => {
    const token = await getAccessToken({ forceRefresh });
    if (!token) throw new SignedOutError();
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const res = await send(false);
  if (res.status !== 401) return res;
  return send(true);
}
