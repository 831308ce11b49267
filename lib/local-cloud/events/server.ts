import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_PUBLISH, parseChannel } from "../../contracts/channels";
import { type Authenticate, createAuthenticator } from "./auth";
import {
  defaultNamespaces,
  type EventsIdentity,
  type NamespaceConfig,
  type NamespacesConfig,
} from "./namespaces";
import {
  type AuthMode,
  type AuthObject,
  badRequest,
  clientMessageSchema,
  decodeAuthSubprotocol,
  EventsError,
  handlerDenied,
  publishBodySchema,
  REALTIME_SUBPROTOCOL,
  unauthorized,
} from "./protocol";

/** Where `startEventsServer` listens and what it accepts. */
export interface EventsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  region: string;
  /** The API key; accepted only by namespaces that list `API_KEY`. */
  apiKey?: string;
  /** The IAM identities whose SigV4 signatures are accepted. */
  iamCredentials: { accessKeyId: string; secretAccessKey: string }[];
  /** Checks a Cognito JWT (the local JWKS); throws when invalid. */
  verifyUserToken: (jwt: string) => Promise<{ sub: string }>;
  /** Default: `defaultNamespaces()` (chat and agent). */
  namespaces?: NamespacesConfig;
  /** Auth modes accepted on the WebSocket connect. Default: every mode some namespace allows. */
  connectionAuthModes?: AuthMode[];
  /** Sent in `connection_ack`; clients reconnect after this long without a message. Default 300 000 (AWS's). */
  connectionTimeoutMs?: number;
  /** Interval of `ka` messages. Default 60 000 (AWS's). */
  keepAliveIntervalMs?: number;
  /** Called for every accepted publish (diagnostics and tests). */
  onPublish?: (info: {
    channel: string;
    events: number;
    via: "http" | "websocket";
    identity: EventsIdentity;
  }) => void;
  /** One line per rejected request or connection; never contains credentials. Default: silent. */
  log?: (line: string) => void;
}

/** A running emulator. `httpEndpoint` is what aws-amplify's `API.Events.endpoint` takes. */
export interface EventsServer {
  /** `http://127.0.0.1:PORT/event` */
  httpEndpoint: string;
  /** `ws://127.0.0.1:PORT/event/realtime` */
  realtimeEndpoint: string;
  host: string;
  port: number;
  /** Number of open WebSocket connections. */
  connectionCount(): number;
  /** Drops every WebSocket without a close frame, like a network failure. Returns how many. */
  disconnectAll(): number;
  close(): Promise<void>;
}

const HTTP_PATH = "/event";
const REALTIME_PATH = "/event/realtime";
/** Five events at the limit, JSON-escaped, with room to spare. Larger bodies get 413. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface SubscriptionEntry {
  channel: string;
  /** For `/ns/a/*`: `/ns/a/`. */
  prefix?: string;
}

interface Connection {
  ws: WebSocket;
  auth: Promise<{ ok: true; identity: EventsIdentity } | { ok: false; error: EventsError }>;
  acked: boolean;
  subscriptions: Map<string, SubscriptionEntry>;
  keepAlive?: NodeJS.Timeout;
  queue: Promise<void>;
}

/**
 * Starts an AppSync-Events-compatible server: `POST /event` and the realtime WebSocket
 * `/event/realtime` on one port. Rejects with a clear error when the port is taken.
 */
export async function startEventsServer(opts: EventsServerOptions): Promise<EventsServer> {
  const host = opts.host ?? "127.0.0.1";
  const namespaces = opts.namespaces ?? defaultNamespaces();
  const connectionModes =
    opts.connectionAuthModes ??
    Array.from(
      new Set(Object.values(namespaces).flatMap((n) => [...n.subscribeAuthModes, ...n.publishAuthModes])),
    );
  const connectionTimeoutMs = opts.connectionTimeoutMs ?? 300_000;
  const keepAliveIntervalMs = opts.keepAliveIntervalMs ?? 60_000;
  const log = opts.log ?? (() => {});
  const authenticate: Authenticate = createAuthenticator({
    region: opts.region,
    apiKey: opts.apiKey,
    iamCredentials: opts.iamCredentials,
    verifyUserToken: opts.verifyUserToken,
    signedPath: HTTP_PATH,
  });
  const connections = new Set<Connection>();

  function namespaceOf(channel: string, allowWildcard: boolean): { name: string; config: NamespaceConfig } {
    const parsed = parseChannel(channel, { allowWildcard });
    if (!parsed.ok)
      throw badRequest(`Invalid channel ${JSON.stringify(channel.slice(0, 300))}: ${parsed.reason}`);
    const config = Object.hasOwn(namespaces, parsed.namespace) ? namespaces[parsed.namespace] : undefined;
    if (!config) throw badRequest(`Namespace ${JSON.stringify(parsed.namespace)} does not exist`);
    return { name: parsed.namespace, config };
  }

  function checkEvents(events: string[]): void {
    if (events.length < 1 || events.length > MAX_EVENTS_PER_PUBLISH)
      throw badRequest(
        `A publish must contain between 1 and ${MAX_EVENTS_PER_PUBLISH} events, got ${events.length}`,
      );
    events.forEach((event, index) => {
      const bytes = Buffer.byteLength(event, "utf8");
      if (bytes > MAX_EVENT_BYTES)
        throw badRequest(`Event at index ${index} is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes`);
      try {
        JSON.parse(event);
      } catch {
        throw badRequest(`Event at index ${index} is not a valid JSON string`);
      }
    });
  }

  function requireMode(identity: EventsIdentity, allowed: AuthMode[], what: string): void {
    if (!allowed.includes(identity.mode)) throw unauthorized(`${identity.mode} may not ${what}`);
  }

  /** Delivers to every matching subscription; returns AWS's per-event result list. */
  function broadcast(channel: string, events: string[]) {
    for (const conn of connections) {
      if (!conn.acked) continue;
      for (const [id, sub] of conn.subscriptions) {
        const matches = sub.prefix ? channel.startsWith(sub.prefix) : sub.channel === channel;
        if (!matches) continue;
        for (const event of events) send(conn.ws, { type: "data", id, event });
      }
    }
    return { failed: [], successful: events.map((_, index) => ({ identifier: randomUUID(), index })) };
  }

  // ---------------------------------------------------------------- HTTP

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    res.setHeader("access-control-allow-origin", origin ?? "*");
    if (origin) res.setHeader("vary", "Origin");
    res.setHeader("access-control-expose-headers", "x-amzn-errortype, x-amzn-requestid");
    res.setHeader("x-amzn-requestid", randomUUID());
    const path = (req.url ?? "/").split("?")[0];

    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-methods", "POST, OPTIONS");
      res.setHeader(
        "access-control-allow-headers",
        req.headers["access-control-request-headers"] ??
          "content-type, authorization, x-api-key, x-amz-date, x-amz-security-token, x-amz-user-agent, x-amz-content-sha256",
      );
      res.setHeader("access-control-max-age", "86400");
      res.writeHead(204).end();
      return;
    }
    try {
      if (path !== HTTP_PATH)
        throw new EventsError("NotFoundException", `No route for ${req.method} ${path}`, 404);
      if (req.method !== "POST")
        throw new EventsError("MethodNotAllowedException", "Only POST is supported", 405);
      const body = await readBody(req);
      const auth = await authenticate(req.headers, body);
      if (!auth.ok) throw auth.error;
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw badRequest("The request body is not valid JSON");
      }
      const parsed = publishBodySchema.safeParse(json);
      if (!parsed.success) throw badRequest("The request body must be {channel: string, events: string[]}");
      const { channel, events } = parsed.data;
      const ns = namespaceOf(channel, false);
      requireMode(auth.identity, ns.config.publishAuthModes, `publish to namespace ${ns.name}`);
      checkEvents(events);
      opts.onPublish?.({ channel, events: events.length, via: "http", identity: auth.identity });
      const result = broadcast(channel, events);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
    } catch (err) {
      const e = asEventsError(err);
      log(`events: HTTP ${e.status} ${e.errorType} ${req.method} ${path}: ${e.message}`);
      res
        .writeHead(e.status, { "content-type": "application/json", "x-amzn-errortype": e.errorType })
        .end(JSON.stringify({ errors: [e.toEntry()] }));
    }
  }

  // ---------------------------------------------------------------- WebSocket

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_BODY_BYTES,
    handleProtocols: (protocols) => (protocols.has(REALTIME_SUBPROTOCOL) ? REALTIME_SUBPROTOCOL : false),
  });

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? "/").split("?")[0];
    const protocols = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    if (path !== REALTIME_PATH || !protocols.includes(REALTIME_SUBPROTOCOL)) {
      const reason = path !== REALTIME_PATH ? "404 Not Found" : "400 Bad Request";
      log(`events: rejected WebSocket upgrade on ${path} (${reason})`);
      socket.end(`HTTP/1.1 ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    let authObject: AuthObject | undefined;
    for (const p of protocols) authObject ??= decodeAuthSubprotocol(p);
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, authObject));
  }

  function onConnection(ws: WebSocket, authObject: AuthObject | undefined): void {
    const conn: Connection = {
      ws,
      auth: authObject
        ? authenticate(authObject, "{}").then((r) => {
            if (r.ok && !connectionModes.includes(r.identity.mode))
              return { ok: false as const, error: unauthorized(`${r.identity.mode} may not connect`) };
            return r;
          })
        : Promise.resolve({ ok: false as const, error: unauthorized("missing authorization subprotocol") }),
      acked: false,
      subscriptions: new Map(),
      queue: Promise.resolve(),
    };
    connections.add(conn);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      // One message at a time per connection, so a subscribe is done before a later publish.
      conn.queue = conn.queue
        .then(() => handleMessage(conn, text))
        .catch((err) => log(`events: ${String(err)}`));
    });
    ws.on("close", () => {
      clearInterval(conn.keepAlive);
      connections.delete(conn);
    });
    ws.on("error", () => {});
  }

  async function handleMessage(conn: Connection, text: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      send(conn.ws, { type: "error", errors: [badRequest("Message is not valid JSON").toEntry()] });
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : undefined;
      const type = (raw as { type?: unknown })?.type;
      const known = type === "subscribe" || type === "publish" || type === "unsubscribe";
      send(conn.ws, {
        type: known ? `${type}_error` : "error",
        ...(id ? { id } : {}),
        errors: [
          new EventsError(
            known ? "BadRequestException" : "UnsupportedOperation",
            known ? `Malformed ${type} message` : `Unsupported message type ${JSON.stringify(type)}`,
            400,
          ).toEntry(),
        ],
      });
      return;
    }
    const msg = parsed.data;

    if (msg.type === "connection_init") {
      const auth = await conn.auth;
      if (!auth.ok) {
        log(`events: connection rejected: ${auth.error.message}`);
        send(conn.ws, { type: "connection_error", errors: [auth.error.toEntry()] });
        setTimeout(() => conn.ws.close(1000), 50).unref();
        return;
      }
      if (conn.acked) return;
      conn.acked = true;
      send(conn.ws, { type: "connection_ack", connectionTimeoutMs });
      conn.keepAlive = setInterval(() => send(conn.ws, { type: "ka" }), keepAliveIntervalMs);
      conn.keepAlive.unref();
      return;
    }

    const errorType = `${msg.type}_error`;
    if (!conn.acked) {
      send(conn.ws, {
        type: errorType,
        id: msg.id,
        errors: [badRequest("Send connection_init and wait for connection_ack first").toEntry()],
      });
      return;
    }

    try {
      if (msg.type === "unsubscribe") {
        if (!conn.subscriptions.delete(msg.id))
          throw new EventsError("UnknownOperationError", `Unknown subscription id ${msg.id}`, 400);
        send(conn.ws, { type: "unsubscribe_success", id: msg.id });
        return;
      }
      if (msg.type === "subscribe") {
        const ns = namespaceOf(msg.channel, true);
        const auth = await authenticate(msg.authorization ?? {}, JSON.stringify({ channel: msg.channel }));
        if (!auth.ok) throw auth.error;
        requireMode(auth.identity, ns.config.subscribeAuthModes, `subscribe to namespace ${ns.name}`);
        if (ns.config.onSubscribe && !ns.config.onSubscribe(auth.identity, msg.channel))
          throw handlerDenied();
        if (conn.subscriptions.has(msg.id)) throw badRequest(`Subscription id ${msg.id} is already in use`);
        const prefix = msg.channel.endsWith("/*") ? msg.channel.slice(0, -1) : undefined;
        conn.subscriptions.set(msg.id, { channel: msg.channel, prefix });
        send(conn.ws, { type: "subscribe_success", id: msg.id });
        return;
      }
      // publish
      const ns = namespaceOf(msg.channel, false);
      const auth = await authenticate(
        msg.authorization ?? {},
        JSON.stringify({ channel: msg.channel, events: msg.events }),
      );
      if (!auth.ok) throw auth.error;
      requireMode(auth.identity, ns.config.publishAuthModes, `publish to namespace ${ns.name}`);
      checkEvents(msg.events);
      opts.onPublish?.({
        channel: msg.channel,
        events: msg.events.length,
        via: "websocket",
        identity: auth.identity,
      });
      const result = broadcast(msg.channel, msg.events);
      send(conn.ws, { type: "publish_success", id: msg.id, ...result });
    } catch (err) {
      const e = asEventsError(err);
      log(`events: ${errorType} ${e.errorType}: ${e.message}`);
      send(conn.ws, { type: errorType, id: msg.id, errors: [e.toEntry()] });
    }
  }

  // ---------------------------------------------------------------- lifecycle

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch((err) => {
      log(`events: internal error: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on("upgrade", handleUpgrade);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (err.code === "EADDRINUSE")
        reject(new Error(`events server: port ${opts.port} on ${host} is already in use`, { cause: err }));
      else
        reject(
          new Error(`events server could not listen on ${host}:${opts.port ?? 0}: ${err.message}`, {
            cause: err,
          }),
        );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(opts.port ?? 0, host);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 0);
  const hostForUrl = host.includes(":") ? `[${host}]` : host;

  return {
    httpEndpoint: `http://${hostForUrl}:${port}${HTTP_PATH}`,
    realtimeEndpoint: `ws://${hostForUrl}:${port}${REALTIME_PATH}`,
    host,
    port,
    connectionCount: () => connections.size,
    disconnectAll() {
      const n = connections.size;
      for (const conn of connections) conn.ws.terminate();
      return n;
    },
    async close() {
      for (const conn of connections) {
        clearInterval(conn.keepAlive);
        conn.ws.terminate();
      }
      connections.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((err) =>
          err && (err as NodeJS.ErrnoException).code !== "ERR_SERVER_NOT_RUNNING" ? reject(err) : resolve(),
        ),
      );
    },
  };
}

function send(ws: WebSocket, message: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

function asEventsError(err: unknown): EventsError {
  if (err instanceof EventsError) return err;
  return new EventsError("InternalFailureException", "An internal error occurred", 500);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(
          new EventsError(
            "PayloadTooLargeException",
            `The request body exceeds ${MAX_BODY_BYTES} bytes`,
            413,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (err) => {
      if (!failed) reject(err);
    });
  });
}
