/*
 * The browser's client for our route handlers: adds the access token, turns the one error
 * shape (`{ error: { code, message } }`) into ApiError, and tracks how far the browser's
 * clock is from the server's (from the `Date` header), so idempotency keys made with
 * `newId(serverNow())` sort with server-made ids even on a device whose clock is off.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiOptions {
  /** The current access token (refreshed by aws-amplify), or undefined when signed out. */
  token: () => Promise<string | undefined>;
  /** Called on a 401: the session is gone. */
  onUnauthenticated: () => void;
}

/** Offsets smaller than this are noise (the `Date` header has one-second resolution). */
const MIN_OFFSET_MS = 3000;

export function createApi(opts: ApiOptions) {
  let offsetMs = 0;

  async function call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const token = await opts.token();
    if (!token) {
      opts.onUnauthenticated();
      throw new ApiError(401, "unauthenticated", "Sign in first");
    }
    const started = Date.now();
    let res: Response;
    try {
      res = await fetch(path, {
        method: init.method ?? "GET",
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
    }
    const date = res.headers.get("date");
    if (date) {
      const measured = Date.parse(date) + 500 - (started + Date.now()) / 2;
      offsetMs = Math.abs(measured) > MIN_OFFSET_MS ? measured : 0;
    }
    if (res.status === 401) opts.onUnauthenticated();
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        res.status,
        err?.code ?? "http_error",
        err?.message ?? `The server answered ${res.status} ${res.statusText}`,
      );
    }
    return body as T;
  }

  return {
    call,
    /** The server's idea of now, in epoch ms. */
    serverNow: () => Date.now() + offsetMs,
    /** Server time minus browser time, in ms (0 when within a few seconds). */
    clockOffsetMs: () => offsetMs,
  };
}

export type Api = ReturnType<typeof createApi>;
