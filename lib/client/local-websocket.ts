/*
 * Local mode only. aws-amplify 6.22 always turns the events endpoint into
 * `wss://<host>/event/realtime`, even for `http://127.0.0.1:PORT/event`, and the local
 * emulator speaks plain `ws://`. This swaps the global `WebSocket` for a subclass that
 * rewrites `wss://` to `ws://` for loopback hosts, and for nothing else, so a real
 * AppSync endpoint can never be downgraded. Browser-safe: no Node imports.
 */

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const INSTALLED = Symbol.for("serverless-openclaw.localWebSocket");

/** `wss://127.0.0.1:PORT/...` and `wss://localhost:PORT/...` → `ws://…`; any other URL unchanged. */
export function rewriteLocalWebSocketUrl(url: string | URL): string {
  const text = String(url);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return text;
  }
  if (parsed.protocol !== "wss:" || !LOOPBACK_HOSTS.has(parsed.hostname)) return text;
  return `ws:${text.slice("wss:".length)}`;
}

type WebSocketCtor = typeof WebSocket;

/**
 * Replaces `globalThis.WebSocket` with the rewriting subclass. Idempotent; returns a
 * function that restores the previous constructor. Call it before `events.connect`.
 */
export function installLocalWebSocket(target: { WebSocket?: WebSocketCtor } = globalThis): () => void {
  const Base = target.WebSocket;
  if (!Base) throw new Error("no global WebSocket to wrap (Node 22+ or a browser is required)");
  if ((Base as unknown as Record<symbol, unknown>)[INSTALLED]) return () => {};

  class LocalWebSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(rewriteLocalWebSocketUrl(url), protocols);
    }
  }
  Object.defineProperty(LocalWebSocket, INSTALLED, { value: true });
  target.WebSocket = LocalWebSocket;
  return () => {
    if (target.WebSocket === LocalWebSocket) target.WebSocket = Base;
  };
}
