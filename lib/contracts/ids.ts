import { z } from "zod";

/**
 * Every id that appears in a channel path must be a valid AppSync Events segment:
 * 1-50 letters, digits or hyphens. Cognito `sub`s are UUIDs, so they fit.
 */
export const SEGMENT_PATTERN = /^[A-Za-z0-9-]{1,50}$/;

export const userIdSchema = z.string().regex(SEGMENT_PATTERN, "must be 1-50 letters, digits or hyphens");
export type UserId = z.infer<typeof userIdSchema>;

/** Conversation, message and run ids: lowercase, time-sortable, channel-safe (see newId). */
export const idSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,50}$/, "must be 1-50 lowercase letters, digits or hyphens");

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A 26-character id that sorts by creation time (a lowercase ULID): 10 characters of
 * milliseconds, then 16 random ones. Lexical order = creation order across processes,
 * which the message and queue keys rely on.
 */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32];
  return time + rand;
}

/**
 * The id of the agent's reply to a user message. One rule for the runtime, a stop that
 * drops a queued message and a retry: a message has at most one stored reply, whoever
 * stores it first.
 */
export function replyIdFor(messageId: string): string {
  return `${messageId.slice(0, 48)}-a`;
}
