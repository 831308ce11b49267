import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_PUBLISH } from "../contracts/channels";
import type { AgentEvent, ChatEvent } from "../contracts/events";
import { AppError, type ErrorCode, errorMessage } from "../errors";
import type { EventPublisher } from "../ports";
import {
  type AwsCredentialsProvider,
  type CredentialsInput,
  defaultCredentialsProvider,
  signRequest,
  toCredentialsProvider,
} from "./sigv4";

export interface AppSyncEventsPublisherOptions {
  /** `https://<id>.appsync-api.<region>.amazonaws.com/event`, or the local emulator's. */
  httpEndpoint: string;
  region: string;
  /** Static credentials (local mode) or a provider. Default: the AWS default provider chain. */
  credentials?: CredentialsInput;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts after a throttle, a 5xx or a network failure. Default 2. */
  retries?: number;
}

/** The error body AppSync Events returns with a non-2xx status. */
interface AwsErrorBody {
  errors?: { errorType?: string; message?: string }[];
}

/** A response larger than this is not AppSync's (its answers are a few hundred bytes). */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * `EventPublisher` over AppSync Events' HTTP `POST /event`, signed with SigV4 (IAM).
 * Used by the server and the runtime, against AWS and the local emulator alike.
 * Events go out in order, in batches of at most 5; an event over 240 KB is refused
 * before anything is sent (callers split long text into several events).
 *
 * Requests go through `node:http(s)` with a keep-alive pool of its own rather than
 * `fetch`: a publish sits between the user and every streamed token, and `fetch` costs
 * measurably more CPU per request (ADR 0010).
 */
export class AppSyncEventsPublisher implements EventPublisher {
  private readonly url: URL;
  private readonly region: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private credentials: AwsCredentialsProvider;
  /** Idle sockets do not keep the process alive (Node unrefs them in the pool). */
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly request: typeof httpRequest;

  constructor(opts: AppSyncEventsPublisherOptions) {
    this.url = new URL(opts.httpEndpoint);
    this.region = opts.region;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 2;
    this.credentials = opts.credentials
      ? toCredentialsProvider(opts.credentials)
      : defaultCredentialsProvider();
    const https = this.url.protocol === "https:";
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.request = https ? httpsRequest : httpRequest;
  }

  async publish(channel: string, events: (ChatEvent | AgentEvent)[]): Promise<void> {
    await this.publishRaw(
      channel,
      events.map((e) => JSON.stringify(e)),
    );
  }

  /** Publishes already-serialized JSON strings (each one AppSync event). */
  async publishRaw(channel: string, events: string[]): Promise<void> {
    events.forEach((event, index) => {
      const bytes = Buffer.byteLength(event, "utf8");
      if (bytes > MAX_EVENT_BYTES)
        throw new AppError(
          "payload_too_large",
          `event ${index} for ${channel} is ${bytes} bytes; AppSync Events accepts at most ${MAX_EVENT_BYTES} bytes per event (split the text into several events)`,
          { expose: false },
        );
    });
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_PUBLISH) {
      await this.send(channel, events.slice(i, i + MAX_EVENTS_PER_PUBLISH));
    }
  }

  private async send(channel: string, events: string[]): Promise<void> {
    const body = JSON.stringify({ channel, events });
    for (let attempt = 0; ; attempt++) {
      let res: RawResponse;
      try {
        const headers = await signRequest({
          method: "POST",
          url: this.url,
          headers: { "content-type": "application/json" },
          body,
          region: this.region,
          credentials: this.credentials,
        });
        res = await this.post(headers, body);
      } catch (err) {
        if (attempt < this.retries) {
          await backoff(attempt);
          continue;
        }
        throw new AppError(
          "unavailable",
          `AppSync Events publish to ${channel} failed: ${errorMessage(err)}`,
          {
            expose: false,
            cause: err,
          },
        );
      }
      const { text } = res;
      if (res.status >= 200 && res.status < 300) {
        const parsed = safeJson(text) as
          | { failed?: { index?: number; code?: string; message?: string }[] }
          | undefined;
        const failed = parsed?.failed ?? [];
        if (failed.length > 0)
          throw new AppError("internal", `AppSync Events rejected ${failed.length} event(s) on ${channel}`, {
            expose: false,
            details: { failed },
          });
        return;
      }
      const transient = res.status === 429 || res.status >= 500;
      if (transient && attempt < this.retries) {
        await backoff(attempt);
        continue;
      }
      const errBody = safeJson(text) as AwsErrorBody | undefined;
      const first = errBody?.errors?.[0];
      const header = res.headers["x-amzn-errortype"];
      const errorType =
        (typeof header === "string" ? header.split(":")[0] : undefined) ?? first?.errorType ?? "UnknownError";
      const message = first?.message ?? text.slice(0, 300);
      const code: ErrorCode =
        res.status === 429 ? "rate_limited" : res.status >= 500 ? "unavailable" : "internal";
      throw new AppError(
        code,
        `AppSync Events publish to ${channel} failed: ${res.status} ${errorType}: ${message}`,
        { expose: false, details: { status: res.status, errorType, errors: errBody?.errors } },
      );
    }
  }

  /** One POST on the keep-alive pool; rejects on a network failure or the timeout. */
  private post(headers: Record<string, string>, body: string): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = this.request(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES)
              res.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on("error", reject);
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
