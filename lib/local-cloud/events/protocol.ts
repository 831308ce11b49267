import { z } from "zod";

/**
 * Wire shapes of AppSync Events (its HTTP publish and WebSocket protocols) as the emulator speaks them.
 * Errors are `{errors: [{errorType, message}]}` everywhere; HTTP adds `x-amzn-errortype`.
 */

export const REALTIME_SUBPROTOCOL = "aws-appsync-event-ws";
export const AUTH_SUBPROTOCOL_PREFIX = "header-";

export type AuthMode = "API_KEY" | "AMAZON_COGNITO_USER_POOLS" | "AWS_IAM";

export interface EventsErrorEntry {
  errorType: string;
  message: string;
}

/** An error the emulator answers with, carrying AWS's errorType and the HTTP status it maps to. */
export class EventsError extends Error {
  readonly errorType: string;
  readonly status: number;
  constructor(errorType: string, message: string, status: number) {
    super(message);
    this.name = errorType;
    this.errorType = errorType;
    this.status = status;
  }
  toEntry(): EventsErrorEntry {
    return { errorType: this.errorType, message: this.message };
  }
}

export const unauthorized = (detail?: string) =>
  new EventsError(
    "UnauthorizedException",
    detail
      ? `You are not authorized to make this call. (${detail})`
      : "You are not authorized to make this call.",
    401,
  );
export const badRequest = (message: string) => new EventsError("BadRequestException", message, 400);
export const notFound = (message: string) => new EventsError("NotFoundException", message, 404);
/** What AppSync returns when an `onSubscribe` handler calls `util.unauthorized()`. */
export const handlerDenied = (message = "Unauthorized") => new EventsError("Unauthorized", message, 401);

/** Parsed from the `header-<base64url>` subprotocol and from each subscribe/publish message. */
export const authObjectSchema = z.record(z.string(), z.string());
export type AuthObject = z.infer<typeof authObjectSchema>;

const idField = z.string().min(1).max(128);

export const clientMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("connection_init") }).passthrough(),
  z.object({
    type: z.literal("subscribe"),
    id: idField,
    channel: z.string().max(1024),
    authorization: authObjectSchema.optional(),
  }),
  z.object({
    type: z.literal("publish"),
    id: idField,
    channel: z.string().max(1024),
    events: z.array(z.string()),
    authorization: authObjectSchema.optional(),
  }),
  z.object({ type: z.literal("unsubscribe"), id: idField }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const publishBodySchema = z.object({
  channel: z.string().max(1024),
  events: z.array(z.string()),
});

export function decodeAuthSubprotocol(protocol: string): AuthObject | undefined {
  if (!protocol.startsWith(AUTH_SUBPROTOCOL_PREFIX)) return undefined;
  try {
    const json = Buffer.from(protocol.slice(AUTH_SUBPROTOCOL_PREFIX.length), "base64url").toString("utf8");
    const parsed = authObjectSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
