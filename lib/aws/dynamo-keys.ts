import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { idSchema, userIdSchema } from "../contracts/ids";
import { AppError } from "../errors";

/*
 * Every key of the single table, in one place (docs/adr/0002-single-table.md).
 * Every user-owned key starts with `USER#<userId>`, built from the caller's userId, and
 * every id is checked against a pattern without `#`, so no input can name a key of
 * another user.
 */

export const KEY = {
  pk: "pk",
  sk: "sk",
  gsi1pk: "gsi1pk",
  gsi1sk: "gsi1sk",
  ttl: "ttl",
} as const;

/** Attributes that are storage details, stripped before an item is handed out. */
export const STORAGE_ATTRS = ["pk", "sk", "gsi1pk", "gsi1sk", "ttl", "entity"] as const;

export function checkUserId(userId: string): string {
  if (!userIdSchema.safeParse(userId).success) throw new AppError("bad_request", "invalid user id");
  return userId;
}

export function checkId(id: string, what: string): string {
  if (!idSchema.safeParse(id).success) throw new AppError("bad_request", `invalid ${what} id`);
  return id;
}

export const keys = {
  user: (userId: string) => `USER#${checkUserId(userId)}`,
  conversationSk: (conversationId: string) => `CONV#${checkId(conversationId, "conversation")}`,
  /** gsi1 partition listing a user's conversations; sort key `<updatedAt>#<id>`. */
  conversationsByUpdate: (userId: string) => `USER#${checkUserId(userId)}#CONVS`,
  conversationUpdateSk: (updatedAt: string, conversationId: string) =>
    `${normalizeIso(updatedAt)}#${checkId(conversationId, "conversation")}`,
  /** Messages live in a partition per conversation, under the owner's prefix. */
  messages: (userId: string, conversationId: string) =>
    `USER#${checkUserId(userId)}#CONV#${checkId(conversationId, "conversation")}`,
  messageSk: (messageId: string) => `MSG#${checkId(messageId, "message")}`,
  settingsSk: "SETTINGS",
  taskSk: "TASK",
  /** Sparse gsi1 partition holding only task rows that are not Idle (for the watchdog). */
  activeTasks: "TASK#ACTIVE",
  pendingPrefix: "PENDING#",
  pendingSk: (itemId: string) => `PENDING#${checkId(itemId, "pending item")}`,
  /**
   * gsi1 partition holding every queued item of every user, sorted by enqueue time (sort key
   * `<enqueuedAt>#<userId>#<id>`): how the watchdog finds work no runtime is answering.
   */
  waitingItems: "QUEUE#WAITING",
  waitingItemSk: (enqueuedAt: string, userId: string, itemId: string) =>
    `${normalizeIso(enqueuedAt)}#${checkUserId(userId)}#${checkId(itemId, "pending item")}`,
} as const;

/** ISO timestamps sort lexically only in one format; sort keys always use toISOString's. */
export function normalizeIso(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AppError("bad_request", "invalid timestamp");
  return new Date(ms).toISOString();
}

export function stripStorage<T extends Record<string, unknown>>(item: T): Record<string, unknown> {
  const out: Record<string, unknown> = { ...item };
  for (const attr of STORAGE_ATTRS) delete out[attr];
  return out;
}

/** True when the item carries a TTL that has passed: DynamoDB deletes such items only eventually. */
export function isExpired(item: Record<string, unknown>, nowMs: number): boolean {
  const ttl = item[KEY.ttl];
  return typeof ttl === "number" && ttl * 1000 <= nowMs;
}

export function isConditionFailed(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: string }).name === "ConditionalCheckFailedException"
  );
}

/*
 * Cursors are base64url JSON holding only the position (ids and timestamps), never a key.
 * The store rebuilds the key from the caller's userId, so a forged or foreign cursor can
 * only move within the caller's own partition.
 */

export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify({ v: 1, ...position }), "utf8").toString("base64url");
}

export function decodeCursor<T extends z.ZodRawShape>(cursor: string, shape: T): z.infer<z.ZodObject<T>> {
  const schema = z.object({ v: z.literal(1), ...shape }).strict();
  let raw: unknown;
  try {
    if (cursor.length > 1_000) throw new Error("too long");
    raw = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new AppError("bad_request", "invalid cursor");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AppError("bad_request", "invalid cursor");
  const { v: _v, ...rest } = parsed.data as Record<string, unknown>;
  return rest as z.infer<z.ZodObject<T>>;
}

export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1)
    throw new AppError("bad_request", "limit must be a positive integer");
  return Math.min(limit, max);
}

/**
 * Deletes keys 25 at a time (BatchWriteItem's limit), retrying unprocessed ones with
 * backoff. No transactions: dynalite lacks them and a partial delete is safe to repeat.
 */
export async function batchDelete(
  doc: DynamoDBDocumentClient,
  tableName: string,
  itemKeys: Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < itemKeys.length; i += 25) {
    let requests = itemKeys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new AppError("unavailable", "DynamoDB kept throttling a batch delete");
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const res = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (res.UnprocessedItems?.[tableName] ?? []).flatMap((r) =>
        r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
      );
    }
  }
}

export interface DynamoStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Clock for TTL filtering and leases; tests move it instead of sleeping. */
  now?: () => number;
}
