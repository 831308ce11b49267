/*
 * A minimal OpenClaw gateway protocol-v4 client, enough to time a bare `openclaw gateway run`:
 * connect (answering connect.challenge with a token), chat.send, and the first streamed text
 * of the reply, which arrives either as a `chat` delta or as an `agent` assistant stream (a
 * gateway with reused state sometimes sends only the latter).
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { z } from "zod";

const frameSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("event"),
    event: z.string(),
    payload: z.unknown().optional(),
    seq: z.number().optional(),
  }),
  z.object({
    type: z.literal("res"),
    id: z.string(),
    ok: z.boolean(),
    payload: z.unknown().optional(),
    error: z.unknown().optional(),
  }),
]);
type Frame = z.infer<typeof frameSchema>;

export interface GatewayConnection {
  /** Sends chat.send and resolves with ms from sending to the first streamed text, then to the end. */
  chat(
    sessionKey: string,
    message: string,
    timeoutMs?: number,
  ): Promise<{ firstTokenMs: number; doneMs: number }>;
  close(): void;
}

/** Connects once; rejects if the socket cannot open or the handshake fails. */
export function connectGateway(url: string, token: string): Promise<GatewayConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const pending = new Map<string, (f: Extract<Frame, { type: "res" }>) => void>();
    const listeners = new Set<(f: Extract<Frame, { type: "event" }>) => void>();
    const request = (method: string, params: unknown) =>
      new Promise<Extract<Frame, { type: "res" }>>((res) => {
        const id = randomUUID();
        pending.set(id, res);
        ws.send(JSON.stringify({ type: "req", id, method, params }));
      });

    ws.on("error", (err) => reject(err));
    ws.on("message", (data) => {
      let parsed: Frame;
      try {
        const r = frameSchema.safeParse(JSON.parse(String(data)));
        if (!r.success) return;
        parsed = r.data;
      } catch {
        return;
      }
      if (parsed.type === "res") {
        pending.get(parsed.id)?.(parsed);
        pending.delete(parsed.id);
        return;
      }
      if (parsed.event === "connect.challenge") {
        void request("connect", {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: "gateway-client", version: "0.1.0", platform: process.platform, mode: "backend" },
          role: "operator",
          scopes: ["operator.read", "operator.write"],
          caps: ["tool-events"],
          commands: [],
          permissions: {},
          auth: { token },
        }).then((res) => {
          if (!res.ok) {
            reject(new Error(`gateway connect failed: ${JSON.stringify(res.error)}`));
            ws.close();
            return;
          }
          resolve({
            chat: (sessionKey, message, timeoutMs = 300_000) => chat(sessionKey, message, timeoutMs),
            close: () => ws.close(),
          });
        });
        return;
      }
      for (const l of listeners) l(parsed);
    });

    function chat(sessionKey: string, message: string, timeoutMs: number) {
      return new Promise<{ firstTokenMs: number; doneMs: number }>((res, rej) => {
        const started = performance.now();
        let first = 0;
        const timer = setTimeout(() => finish(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
        // Only this run's events: a previous run's trailing agent events must not count.
        let runId: string | undefined;
        const early: Array<Extract<Frame, { type: "event" }>> = [];
        const onEvent = (f: Extract<Frame, { type: "event" }>) => {
          const p = (f.payload ?? {}) as Record<string, unknown>;
          if (runId === undefined) {
            early.push(f);
            return;
          }
          if (typeof p.runId === "string" && p.runId !== runId) return;
          const data = (p.data ?? {}) as Record<string, unknown>;
          const isText =
            (f.event === "chat" && p.state === "delta") ||
            (f.event === "agent" &&
              p.stream === "assistant" &&
              typeof (data.delta ?? data.text) === "string");
          if (isText && !first) first = performance.now() - started;
          const ended =
            (f.event === "chat" && (p.state === "final" || p.state === "error" || p.state === "aborted")) ||
            (f.event === "agent" &&
              p.stream === "lifecycle" &&
              (data.phase === "end" || data.phase === "error"));
          if (ended && first) finish();
          if (f.event === "chat" && p.state === "error")
            finish(new Error(`chat error: ${JSON.stringify(p)}`));
        };
        const finish = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(onEvent);
          if (err) rej(err);
          else res({ firstTokenMs: first, doneMs: performance.now() - started });
        };
        listeners.add(onEvent);
        const idempotencyKey = randomUUID();
        void request("chat.send", { sessionKey, message, idempotencyKey }).then((r) => {
          if (!r.ok) {
            finish(new Error(`chat.send failed: ${JSON.stringify(r.error)}`));
            return;
          }
          const id = (r.payload as { runId?: unknown } | undefined)?.runId;
          runId = typeof id === "string" ? id : idempotencyKey;
          for (const f of early.splice(0)) onEvent(f);
        });
      });
    }
  });
}

/** Retries connecting until the gateway accepts (it opens its port partway through start-up). */
export async function waitForGateway(
  url: string,
  token: string,
  timeoutMs: number,
): Promise<GatewayConnection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectGateway(url, token);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}
