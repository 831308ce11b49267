"use client";

import { useEffect, useState } from "react";
import { authFetch, type SignedInUser } from "@/lib/client/auth";
import { subscribeToChannel } from "@/lib/client/realtime";
import { type ChatEvent, statusChannel } from "@/lib/contracts";

type Connection = "connecting" | "subscribed" | "failed";

/**
 * Diagnostics for the realtime loop: subscribes to the user's own `/chat/<sub>/status`,
 * and a button asks `POST /api/ping` to publish there. The event showing up below proves
 * sign-in, the route handler's IAM publish and the browser's Cognito subscription.
 */
export function RealtimeCheck({ user }: { user: SignedInUser }) {
  const channel = statusChannel(user.sub);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [received, setReceived] = useState<ChatEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [sending, setSending] = useState(false);

  useEffect(() => {
    let live = true;
    let close: (() => Promise<void>) | undefined;
    setConnection("connecting");
    subscribeToChannel(channel, {
      onEvent: (event) => live && setReceived((list) => [event, ...list].slice(0, 20)),
      onError: () => live && setConnection("failed"),
    })
      .then(async (sub) => {
        close = sub.close;
        if (!live) return void sub.close();
        await sub.ready;
        if (live) setConnection("subscribed");
      })
      .catch(() => live && setConnection("failed"));
    return () => {
      live = false;
      void close?.();
    };
  }, [channel]);

  async function ping() {
    setSending(true);
    setError(undefined);
    try {
      const res = await authFetch("/api/ping", { method: "POST" });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
        setError(body.error?.message ?? `HTTP ${res.status}`);
      }
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setSending(false);
    }
  }

  return (
    <section
      className="space-y-4 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
      aria-label="Realtime check"
    >
      <div className="flex items-center justify-between gap-4">
        <div>
          <h2 className="font-medium">Realtime check</h2>
          <p className="text-xs text-zinc-500">
            Channel <code>{channel}</code> ·{" "}
            <span data-testid="realtime-connection" data-state={connection}>
              {connection}
            </span>
          </p>
        </div>
        <button
          type="button"
          onClick={ping}
          disabled={sending || connection !== "subscribed"}
          data-testid="realtime-ping"
          className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-zinc-700 disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900"
        >
          {sending ? "Publishing…" : "Publish a status event"}
        </button>
      </div>
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <ul className="space-y-1 text-sm" data-testid="realtime-events">
        {received.length === 0 ? (
          <li className="text-zinc-500">No events yet.</li>
        ) : (
          received.map((e) => (
            <li key={`${e.type}-${e.at}`} data-testid="realtime-event" className="font-mono text-xs">
              {e.at} · {e.type}
              {e.type === "status" ? ` · ${e.state}` : ""}
            </li>
          ))
        )}
      </ul>
    </section>
  );
}
