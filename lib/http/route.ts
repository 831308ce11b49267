import type { z } from "zod";
import { type Container, getContainer } from "../container";
import { LIMITS } from "../contracts";
import { AppError, formatIssues, isAppError } from "../errors";
import type { VerifiedUser } from "../ports";

/**
 * The one wrapper every route handler uses:
 * parse (JSON body with a size limit, content type, zod `safeParse` of body, query and
 * path params) → authenticate (Bearer access token) → call → map errors in one place.
 * The handler receives the container (the ports its services need): the app's own, or
 * the one a test binds with `handler.with(container)`.
 *
 * Every failure is JSON `{ error: { code, message, details? } }` with the status of the
 * AppError code (lib/errors.ts). Unknown errors become a 500 with a generic message and a
 * request id; the error is logged, never the request's headers or body.
 *
 * @example
 * ```ts
 * // app/api/conversations/[id]/route.ts
 * import { z } from "zod";
 * import { json, route } from "@/lib/http/route";
 * import { idSchema } from "@/lib/contracts";
 *
 * export const PATCH = route(
 *   { params: z.object({ id: idSchema }), body: z.object({ title: z.string().min(1).max(120) }) },
 *   async ({ user, params, body, container }) => {
 *     const conversation = await container.chatStore.updateConversation(user.sub, params.id, body);
 *     return json({ conversation });          // 200; or json(data, 202); or return any Response
 *   },
 * );
 *
 * // In a test: await PATCH.with(testContainer)(request, { params: { id } })
 *
 * // Public routes opt out of authentication:
 * export const GET = route({ auth: false }, async () => ({ ok: true })); // plain values become 200 JSON
 * ```
 */

type Schema = z.ZodType;
type Infer<S> = S extends Schema ? z.output<S> : undefined;

export interface RouteSpec<B, Q, P, A extends boolean> {
  /** zod schema of the JSON body. When set, the request must be `application/json`. */
  body?: B;
  /** zod schema of the query string, given as a flat `Record<string, string>`. */
  query?: Q;
  /** zod schema of the dynamic path segments (`[id]` → `{ id }`). */
  params?: P;
  /** Require a valid Cognito access token (default true). */
  auth?: A;
  /** Override LIMITS.bodyBytes for this route. */
  maxBodyBytes?: number;
}

export interface RouteInput<B, Q, P, A extends boolean> {
  request: Request;
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
  /** The authenticated caller (undefined only on routes with `auth: false`). */
  user: A extends false ? undefined : VerifiedUser;
  /** Also sent as the `x-request-id` response header on errors. */
  requestId: string;
  /** The ports the handler's services take. */
  container: Container;
}

/** What Next.js passes as the second argument of a route handler. */
export interface NextRouteContext {
  params?: Promise<unknown> | unknown;
}

export type RouteHandler = (request: Request, context?: NextRouteContext) => Promise<Response>;

/** A route handler, and the same handler bound to another container (for tests). */
export type Route = RouteHandler & { with(container: Container): RouteHandler };

/** A JSON response that is never cached. */
export function json(data: unknown, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("cache-control", "no-store");
  return Response.json(data, { status, headers: h });
}

const GENERIC_MESSAGES: Record<string, string> = {
  internal: "Something went wrong on our side. Try again, and report the request id if it persists.",
};

/** Maps any thrown value to the one error shape. */
function errorResponse(err: unknown, requestId: string): Response {
  const appError = isAppError(err) ? err : undefined;
  if (!appError || appError.code === "internal") {
    // Log the error itself (name, message, stack, cause chain), never the request.
    console.error(`[route] request ${requestId} failed:`, err);
  }
  const code = appError?.code ?? "internal";
  const status = appError?.status ?? 500;
  const message =
    appError?.expose === true ? appError.message : (GENERIC_MESSAGES[code] ?? "The request failed.");
  const body: { error: { code: string; message: string; details?: unknown; requestId?: string } } = {
    error: { code, message },
  };
  if (appError?.expose === true && appError.details !== undefined) body.error.details = appError.details;
  if (status >= 500) body.error.requestId = requestId;
  const headers: Record<string, string> = { "x-request-id": requestId };
  if (code === "unauthenticated") headers["www-authenticate"] = 'Bearer realm="api"';
  return json(body, status, headers);
}

function parseWith<S extends Schema>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(root)",
    message: i.message,
  }));
  throw new AppError("bad_request", `Invalid ${what}: ${formatIssues(result.error)}`, {
    details: { issues },
  });
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** Reads at most `limit` bytes, failing fast on a declared or actual larger body. */
async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new AppError("payload_too_large", `Request body is larger than ${limit} bytes`, {
      details: { limitBytes: limit },
    });
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get("content-type")))
    throw new AppError(
      "unsupported_media_type",
      "Request body must be JSON (Content-Type: application/json)",
    );
  const bytes = await readBody(request, limit);
  if (bytes.byteLength === 0) throw new AppError("bad_request", "Request body is empty; expected JSON");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AppError("bad_request", "Request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "Request body is not valid JSON");
  }
}

/** Extracts the Bearer token, or throws 401. */
function bearerToken(request: Request): string {
  const header = request.headers.get("authorization");
  if (!header) throw new AppError("unauthenticated", "Sign in first: the Authorization header is missing");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new AppError("unauthenticated", "The Authorization header must be `Bearer <token>`");
  return match[1];
}

/** Wraps a handler: see the example at the top of this file. */
export function route<
  B extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined,
  A extends boolean = true,
>(
  spec: RouteSpec<B, Q, P, A>,
  handler: (input: RouteInput<B, Q, P, A>) => Promise<unknown> | unknown,
): Route {
  const bind =
    (container: () => Container): RouteHandler =>
    async (request, context) => {
      const requestId = crypto.randomUUID();
      try {
        const body = (
          spec.body
            ? parseWith(
                spec.body,
                await parseJsonBody(request, spec.maxBodyBytes ?? LIMITS.bodyBytes),
                "request body",
              )
            : undefined
        ) as Infer<B>;
        const query = (
          spec.query
            ? parseWith(spec.query, Object.fromEntries(new URL(request.url).searchParams), "query string")
            : undefined
        ) as Infer<Q>;
        const params = (
          spec.params ? parseWith(spec.params, (await context?.params) ?? {}, "path") : undefined
        ) as Infer<P>;
        const user = (
          spec.auth === false ? undefined : await container().verifier.verify(bearerToken(request))
        ) as VerifiedUser | undefined;
        const result = await handler({
          request,
          body,
          query,
          params,
          user: user as RouteInput<B, Q, P, A>["user"],
          requestId,
          // Read on use: a public route such as /api/health works without a valid configuration.
          get container() {
            return container();
          },
        });
        if (result instanceof Response) return result;
        if (result === undefined) return new Response(null, { status: 204 });
        return json(result);
      } catch (err) {
        return errorResponse(err, requestId);
      }
    };
  return Object.assign(bind(getContainer), { with: (container: Container) => bind(() => container) });
}
