"use client";

import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useCallback, useEffect, useState } from "react";
import { getSignedInUser, type SignedInUser, signOutUser } from "@/lib/client/auth";
import { errorMessage } from "@/lib/errors";

export type SessionState =
  | { status: "loading" }
  | { status: "signed-in"; user: SignedInUser }
  | { status: "signed-out" }
  | { status: "error"; message: string };

/** The browser's Cognito session (configures Amplify from /api/config on first use). */
export function useSession(): SessionState & { refresh: () => void } {
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick re-runs the check on demand
  useEffect(() => {
    let live = true;
    getSignedInUser().then(
      (user) => live && setState(user ? { status: "signed-in", user } : { status: "signed-out" }),
      (err: unknown) => live && setState({ status: "error", message: errorMessage(err) }),
    );
    return () => {
      live = false;
    };
  }, [tick]);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, refresh };
}

/** `/sign-in?next=<current path>`. */
export function signInPath(next: string): string {
  return `/sign-in?next=${encodeURIComponent(next)}`;
}

/**
 * Renders its children for a signed-in user and sends everyone else to /sign-in, with
 * `?next=` so they come back here afterwards.
 */
export function RequireSession({ children }: { children: (user: SignedInUser) => ReactNode }) {
  const session = useSession();
  const router = useRouter();
  const pathname = usePathname();
  useEffect(() => {
    if (session.status === "signed-out") router.replace(signInPath(pathname || "/"));
  }, [session.status, router, pathname]);

  if (session.status === "signed-in") return <>{children(session.user)}</>;
  if (session.status === "error")
    return (
      <div role="alert" className="mx-auto max-w-md p-8 text-sm text-red-700 dark:text-red-400">
        Could not reach the app&apos;s configuration: {session.message}
      </div>
    );
  return (
    <div className="mx-auto max-w-md p-8 text-sm text-zinc-500" aria-busy="true">
      Loading…
    </div>
  );
}

/** A sign-out button that returns to /sign-in. */
export function SignOutButton({ className }: { className?: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      data-testid="sign-out"
      disabled={busy}
      className={
        className ??
        "rounded-md border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
      }
      onClick={async () => {
        setBusy(true);
        try {
          await signOutUser();
        } finally {
          router.replace("/sign-in");
        }
      }}
    >
      Sign out
    </button>
  );
}
