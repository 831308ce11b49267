"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { type FormEvent, useEffect, useState } from "react";
import { authErrorMessage, completeNewPassword, getSignedInUser, signInWithEmail } from "@/lib/client/auth";

/** Only same-site paths: `?next=https://evil.example` or `//evil.example` must not redirect away. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

const input =
  "w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm outline-none focus:border-zinc-500 focus:ring-2 focus:ring-zinc-200 dark:border-zinc-700 dark:bg-zinc-900 dark:focus:ring-zinc-800";
const button =
  "w-full rounded-md bg-zinc-900 px-3 py-2 text-sm font-medium text-white hover:bg-zinc-700 disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-zinc-300";

/** Email + password sign-in, with the new-password step for invited users. */
export function SignInForm() {
  const router = useRouter();
  const next = safeNext(useSearchParams().get("next"));
  const [step, setStep] = useState<"credentials" | "new-password">("credentials");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  // Someone already signed in has nothing to do here.
  useEffect(() => {
    getSignedInUser().then(
      (user) => user && router.replace(next),
      () => undefined,
    );
  }, [router, next]);

  async function run(action: () => Promise<{ status: string }>) {
    setBusy(true);
    setError(undefined);
    try {
      const result = await action();
      if (result.status === "signed-in") router.replace(next);
      else setStep("new-password");
    } catch (err) {
      setError(authErrorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (step === "credentials") void run(() => signInWithEmail(email, password));
    else void run(() => completeNewPassword(newPassword));
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" data-testid="sign-in-form">
      {step === "credentials" ? (
        <>
          <label className="block space-y-1">
            <span className="text-sm font-medium">Email</span>
            <input
              className={input}
              type="email"
              name="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              data-testid="sign-in-email"
            />
          </label>
          <label className="block space-y-1">
            <span className="text-sm font-medium">Password</span>
            <input
              className={input}
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="sign-in-password"
            />
          </label>
        </>
      ) : (
        <label className="block space-y-1">
          <span className="text-sm font-medium">Choose a new password</span>
          <span className="block text-xs text-zinc-500">
            Your account was created with a temporary password. At least 8 characters with upper and lower
            case letters, a digit and a symbol.
          </span>
          <input
            className={input}
            type="password"
            name="new-password"
            autoComplete="new-password"
            required
            minLength={8}
            value={newPassword}
            onChange={(e) => setNewPassword(e.target.value)}
            data-testid="sign-in-new-password"
          />
        </label>
      )}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400" data-testid="sign-in-error">
          {error}
        </p>
      ) : null}
      <button type="submit" className={button} disabled={busy} data-testid="sign-in-submit">
        {busy ? "Signing in…" : step === "credentials" ? "Sign in" : "Set password and sign in"}
      </button>
    </form>
  );
}
