import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { errorMessage } from "../errors";
import type { EventSubscriber, Subscription } from "../ports";
import {
  type AwsCredentialsProvider,
  type CredentialsInput,
  defaultCredentialsProvider,
  signRealtimeAuthorization,
  toCredentialsProvider,
} from "./sigv4";

const SUBPROTOCOL = "aws-appsync-event-ws";
/** AWS sends `ka` every minute and allows 5 minutes of silence; we follow what connection_ack says. */
const DEFAULT_CONNECTION_TIMEOUT_MS = 300_000;
const ACK_TIMEOUT_MS = 15_000;
const SUBSCRIBE_ATTEMPTS = 3;

/** How the subscriber authenticates. The runtime uses IAM; the others exist for tests and tools. */
export type SubscriberAuth =
  | { type: "iam"; credentials?: CredentialsInput }
  | { type: "apiKey"; apiKey: string }
  | { type: "userPool"; token: () => string | Promise<string> };

export interface AppSyncEventsSubscriberOptions {
  /** `https://<id>.appsync-api.<region>.amazonaws.com/event`: its host goes into every signature. */
  httpEndpoint: string;
  /** `wss://<id>.appsync-realtime-api.<region>.amazonaws.com/event/realtime`. Default: derived like aws-amplify does. */
  realtimeEndpoint?: string;
  region: string;
  /** Shorthand for `auth: { type: "iam", credentials }`. Default: the AWS default provider chain. */
  credentials?: CredentialsInput;
  auth?: SubscriberAuth;
  /** Reconnect backoff bounds. Default 250 ms doubling up to 10 s, with jitter. */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Called after every reconnect once all subscriptions are back (events in the gap are lost). */
  onReconnect?: () => void;
  /** A subscription that could not be restored after a reconnect (for example, auth now denied). */
  onSubscriptionError?: (channel: string, error: Error) => void;
  /** Diagnostics without secrets. Default: silent. */
  log?: (line: string) => void;
}

/** A `subscribe_error`, `connection_error` or protocol failure, with AWS's errorType. */
export class EventsProtocolError extends Error {
  readonly errorType: string;
  constructor(errorType: string, message: string) {
    super(`${errorType}: ${message}`);
    this.name = "EventsProtocolError";
    this.errorType = errorType;
  }
}

interface LocalSubscription {
  channel: string;
  onEvent: (event: unknown) => void;
  /** The id of the current server-side subscription (changes on every reconnect). */
  serverId?: string;
  closed: boolean;
}

interface Pending {
  resolve: (msg: ServerMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface ServerMessage {
  type: string;
  id?: string;
  event?: string;
  connectionTimeoutMs?: number;
  errors?: { errorType?: string; message?: string }[];
}

/**
 * `EventSubscriber` for Node over the AppSync Events realtime WebSocket: IAM SigV4 on
 * connect and on each subscribe, keep-alive watchdog, automatic reconnect with
 * resubscribe, and `close()`. The same code talks to AWS and to the local emulator.
 */
export class AppSyncEventsSubscriber implements EventSubscriber {
  private readonly opts: AppSyncEventsSubscriberOptions;
  private readonly realtimeUrl: string;
  private readonly host: string;
  private readonly credentials?: AwsCredentialsProvider;
  private readonly subs = new Set<LocalSubscription>();
  private readonly byServerId = new Map<string, LocalSubscription>();
  private readonly pending = new Map<string, Pending>();
  private ws?: WebSocket;
  private connecting?: Promise<WebSocket>;
  private watchdog?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private connectionTimeoutMs = DEFAULT_CONNECTION_TIMEOUT_MS;
  private attempts = 0;
  private closed = false;

  constructor(opts: AppSyncEventsSubscriberOptions) {
    this.opts = opts;
    this.host = new URL(opts.httpEndpoint).host;
    this.realtimeUrl = opts.realtimeEndpoint ?? deriveRealtimeEndpoint(opts.httpEndpoint);
    const auth = opts.auth ?? { type: "iam", credentials: opts.credentials };
    if (auth.type === "iam")
      this.credentials = auth.credentials
        ? toCredentialsProvider(auth.credentials)
        : defaultCredentialsProvider();
  }

  /** Subscribes (wildcards like `/chat/<sub>/*` allowed). Rejects on `subscribe_error`. */
  async subscribe(channel: string, onEvent: (event: unknown) => void): Promise<Subscription> {
    if (this.closed) throw new Error("subscriber is closed");
    const sub: LocalSubscription = { channel, onEvent, closed: false };
    // A socket that drops between connect and subscribe_success is retried; a refusal
    // (connection_error, subscribe_error) is final and rejects at once.
    for (let attempt = 0; ; attempt++) {
      try {
        const ws = await this.connect();
        await this.startSubscription(ws, sub);
        break;
      } catch (err) {
        if (err instanceof EventsProtocolError || this.closed || attempt >= SUBSCRIBE_ATTEMPTS - 1) throw err;
        this.log(`subscribe ${channel} failed (${errorMessage(err)}); retrying`);
        await new Promise((r) => setTimeout(r, (this.opts.minReconnectDelayMs ?? 250) * 2 ** attempt));
      }
    }
    this.subs.add(sub);
    return {
      close: async () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(sub);
        const id = sub.serverId;
        if (!id) return;
        this.byServerId.delete(id);
        const current = this.ws;
        if (current && current.readyState === WebSocket.OPEN) {
          await this.request(current, { type: "unsubscribe", id }, id).catch((err) =>
            this.log(`unsubscribe ${channel} failed: ${errorMessage(err)}`),
          );
        }
      },
    };
  }

  /** Closes the socket and stops reconnecting. Subscriptions end. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.watchdog);
    this.subs.clear();
    this.byServerId.clear();
    this.failPending(new Error("subscriber closed"));
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1_000);
        ws.once("close", () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(1000);
      });
    }
  }

  // ------------------------------------------------------------------ connection

  private connect(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    if (!this.connecting) {
      this.connecting = this.open().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<WebSocket> {
    const auth = await this.authorization("{}");
    const ws = new WebSocket(this.realtimeUrl, [SUBPROTOCOL, encodeAuthSubprotocol(auth)]);
    await new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        ws.off("open", onOpen);
        ws.off("error", onError);
        ws.off("close", onCloseEarly);
        ws.off("message", onHandshakeMessage);
      };
      const fail = (err: Error) => {
        cleanup();
        // Keep a listener so a late socket error cannot crash the process.
        ws.on("error", () => {});
        ws.terminate();
        reject(err);
      };
      const onOpen = () => ws.send(JSON.stringify({ type: "connection_init" }));
      const onError = (err: Error) =>
        fail(new Error(`WebSocket to ${this.realtimeUrl} failed: ${err.message}`));
      const onCloseEarly = (code: number) =>
        fail(new Error(`WebSocket closed during handshake (code ${code})`));
      const onHandshakeMessage = (data: WebSocket.RawData) => {
        const msg = parseMessage(data);
        if (msg?.type === "connection_ack") {
          cleanup();
          if (typeof msg.connectionTimeoutMs === "number" && msg.connectionTimeoutMs > 0)
            this.connectionTimeoutMs = msg.connectionTimeoutMs;
          // Attached synchronously with the ack so no message or error falls between handlers.
          ws.on("message", (d) => this.onMessage(d));
          ws.on("error", (err) => this.log(`WebSocket error: ${err.message}`));
          ws.on("close", (code) => this.onClose(ws, code));
          resolve();
        } else if (msg?.type === "connection_error") {
          fail(toProtocolError(msg, "connection_error"));
        }
      };
      const timer = setTimeout(
        () => fail(new Error(`no connection_ack from ${this.realtimeUrl} within ${ACK_TIMEOUT_MS} ms`)),
        ACK_TIMEOUT_MS,
      );
      ws.on("open", onOpen);
      ws.on("error", onError);
      ws.on("close", onCloseEarly);
      ws.on("message", onHandshakeMessage);
    });
    if (this.closed) {
      ws.terminate();
      throw new Error("subscriber is closed");
    }
    this.ws = ws;
    this.attempts = 0;
    this.armWatchdog();
    // After a drop, bring the existing subscriptions back on the new socket.
    if (this.subs.size > 0) void this.restore(ws);
    return ws;
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.log(`no message for ${this.connectionTimeoutMs} ms; reconnecting`);
      this.ws?.terminate();
    }, this.connectionTimeoutMs);
    this.watchdog.unref();
  }

  private onMessage(data: WebSocket.RawData): void {
    this.armWatchdog();
    const msg = parseMessage(data);
    if (!msg || msg.type === "ka") return;
    if (msg.type === "data" && msg.id !== undefined) {
      const sub = this.byServerId.get(msg.id);
      if (!sub || sub.closed || typeof msg.event !== "string") return;
      let event: unknown;
      try {
        event = JSON.parse(msg.event);
      } catch {
        this.log(`dropped a non-JSON event on ${sub.channel}`);
        return;
      }
      try {
        sub.onEvent(event);
      } catch (err) {
        this.log(`event handler for ${sub.channel} threw: ${errorMessage(err)}`);
      }
      return;
    }
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type.endsWith("_error")) p.reject(toProtocolError(msg, msg.type));
        else p.resolve(msg);
        return;
      }
    }
    if (msg.type === "error" || msg.type.endsWith("_error")) this.log(`server error: ${describeErrors(msg)}`);
  }

  private onClose(ws: WebSocket, code: number): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    clearTimeout(this.watchdog);
    this.byServerId.clear();
    for (const sub of this.subs) sub.serverId = undefined;
    this.failPending(new Error(`WebSocket closed (code ${code})`));
    if (this.closed) return;
    this.log(`WebSocket closed (code ${code}); reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const min = this.opts.minReconnectDelayMs ?? 250;
    const max = this.opts.maxReconnectDelayMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.connect();
    } catch (err) {
      this.log(`reconnect failed: ${errorMessage(err)}`);
      this.scheduleReconnect();
    }
  }

  private async restore(ws: WebSocket): Promise<void> {
    for (const sub of [...this.subs]) {
      if (sub.closed || sub.serverId) continue;
      try {
        await this.startSubscription(ws, sub);
      } catch (err) {
        if (err instanceof EventsProtocolError) {
          // Denied now (auth changed): this subscription is over, the others carry on.
          this.subs.delete(sub);
          sub.closed = true;
          this.opts.onSubscriptionError?.(sub.channel, err);
        } else {
          // The socket went away again; onClose schedules the next attempt.
          return;
        }
      }
    }
    if (this.ws === ws && !this.closed) this.opts.onReconnect?.();
  }

  private async startSubscription(ws: WebSocket, sub: LocalSubscription): Promise<void> {
    const id = randomUUID();
    const authorization = await this.authorization(JSON.stringify({ channel: sub.channel }));
    // Registered before sending so that no event after subscribe_success can be missed.
    this.byServerId.set(id, sub);
    try {
      await this.request(ws, { type: "subscribe", id, channel: sub.channel, authorization }, id);
    } catch (err) {
      this.byServerId.delete(id);
      throw err;
    }
    sub.serverId = id;
    if (sub.closed) {
      // Closed while the subscribe was in flight: undo it on the server.
      this.byServerId.delete(id);
      await this.request(ws, { type: "unsubscribe", id }, id).catch(() => {});
    }
  }

  private request(ws: WebSocket, message: object, id: string): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${(message as { type: string }).type} within ${ACK_TIMEOUT_MS} ms`));
      }, ACK_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify(message), (err) => {
        if (!err) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private failPending(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  private async authorization(body: string): Promise<Record<string, string>> {
    const auth = this.opts.auth ?? { type: "iam" as const };
    if (auth.type === "apiKey") {
      return { host: this.host, "x-amz-date": amzDate(new Date()), "x-api-key": auth.apiKey };
    }
    if (auth.type === "userPool") return { Authorization: await auth.token(), host: this.host };
    if (!this.credentials) throw new Error("no credentials");
    return signRealtimeAuthorization({
      httpEndpoint: this.opts.httpEndpoint,
      region: this.opts.region,
      credentials: this.credentials,
      body,
    });
  }

  private log(line: string): void {
    this.opts.log?.(`events subscriber: ${line}`);
  }
}

/** `header-<base64url(JSON)>`: how the realtime protocol carries the connect authorization. */
export function encodeAuthSubprotocol(auth: Record<string, string>): string {
  return `header-${Buffer.from(JSON.stringify(auth), "utf8").toString("base64url")}`;
}

/** The realtime URL for an events HTTP endpoint, as aws-amplify derives it (but keeping ws:// for http://). */
export function deriveRealtimeEndpoint(httpEndpoint: string): string {
  const url = new URL(httpEndpoint);
  const aws = /\.appsync-api\./.test(url.hostname);
  url.hostname = url.hostname.replace(".appsync-api.", ".appsync-realtime-api.");
  url.protocol = url.protocol === "http:" && !aws ? "ws:" : "wss:";
  url.pathname = `${url.pathname.replace(/\/$/, "")}/realtime`;
  return url.toString();
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

function parseMessage(data: WebSocket.RawData): ServerMessage | undefined {
  try {
    const msg = JSON.parse(data.toString()) as ServerMessage;
    return typeof msg?.type === "string" ? msg : undefined;
  } catch {
    return undefined;
  }
}

function describeErrors(msg: ServerMessage): string {
  return (
    (msg.errors ?? []).map((e) => `${e.errorType ?? "Error"}: ${e.message ?? ""}`).join("; ") || msg.type
  );
}

function toProtocolError(msg: ServerMessage, fallbackType: string): EventsProtocolError {
  const first = msg.errors?.[0];
  return new EventsProtocolError(first?.errorType ?? fallbackType, first?.message ?? describeErrors(msg));
}
