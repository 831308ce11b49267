"use client";

import Link from "next/link";
import { RequireSession, SignOutButton } from "@/components/auth/session";
import { RealtimeCheck } from "@/components/realtime-check";

/** Diagnostics: proves the realtime loop (sign-in, IAM publish, Cognito subscription). */
export default function Diagnostics() {
  return (
    <RequireSession>
      {(user) => (
        <main className="mx-auto max-w-2xl space-y-6 p-8">
          <header className="flex items-center justify-between">
            <div>
              <h1 className="text-2xl font-semibold">Diagnostics</h1>
              <p className="text-sm text-zinc-500" data-testid="signed-in-as">
                Signed in as {user.email ?? user.sub}
              </p>
            </div>
            <div className="flex items-center gap-2">
              <Link href="/" className="text-sm underline">
                Chat
              </Link>
              <SignOutButton />
            </div>
          </header>
          <RealtimeCheck user={user} />
        </main>
      )}
    </RequireSession>
  );
}
