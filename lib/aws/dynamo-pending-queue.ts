import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type PendingItem, pendingItemSchema } from "../contracts";
import { AppError } from "../errors";
import type { PendingQueue } from "../ports";
import { type DynamoStoreOptions, isConditionFailed, isExpired, keys, stripStorage } from "./dynamo-keys";

/** Items older than this are dropped: a message nobody answered in two days is too old to answer. */
export const DEFAULT_PENDING_TTL_SECONDS = 2 * 24 * 3600;

export interface DynamoPendingQueueOptions extends DynamoStoreOptions {
  /** Lifetime of an item from its enqueuedAt; stored as the table's TTL and filtered on read. */
  ttlSeconds?: number;
}

/** A user with queued work, and when the oldest of it was enqueued. */
export interface WaitingUser {
  userId: string;
  enqueuedAt: string;
}

function toItem(raw: Record<string, unknown>): PendingItem {
  const { leaseMs: _leaseMs, ...rest } = stripStorage(raw);
  return pendingItemSchema.parse(rest);
}

function leaseTime(leaseUntil: Date): number {
  const ms = leaseUntil.getTime();
  if (Number.isNaN(ms)) throw new AppError("bad_request", "invalid lease time");
  return ms;
}

/**
 * PendingQueue on the single table: `USER#<uid>`, `PENDING#<id>`, drained in id order.
 * Claims are conditional UpdateItems on the claim and a numeric lease (`leaseMs`), so of
 * two workers claiming the same item at once exactly one wins. No transactions anywhere
 * (dynalite has none). Every item carries a TTL; since dynalite never deletes expired
 * items and DynamoDB does so only eventually, reads and claims ignore expired ones. Every
 * item is also in gsi1's waiting partition (keys.waitingItems) until it leaves the queue.
 */
export class DynamoPendingQueue implements PendingQueue {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly now: () => number;
  private readonly ttlSeconds: number;

  constructor(opts: DynamoPendingQueueOptions) {
    this.doc = opts.client;
    this.table = opts.tableName;
    this.now = opts.now ?? Date.now;
    this.ttlSeconds = opts.ttlSeconds ?? DEFAULT_PENDING_TTL_SECONDS;
  }

  private key(userId: string, itemId: string) {
    return { pk: keys.user(userId), sk: keys.pendingSk(itemId) };
  }

  async enqueue(item: PendingItem): Promise<boolean> {
    const parsed = pendingItemSchema.safeParse(item);
    if (!parsed.success) throw new AppError("bad_request", "invalid pending item");
    const { claimedBy: _c, leaseUntil: _l, ...fresh } = parsed.data;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.key(fresh.userId, fresh.id),
            gsi1pk: keys.waitingItems,
            gsi1sk: keys.waitingItemSk(fresh.enqueuedAt, fresh.userId, fresh.id),
            entity: "pending",
            ttl: Math.floor(Date.parse(fresh.enqueuedAt) / 1000) + this.ttlSeconds,
            ...fresh,
          },
          // Idempotent: a retried enqueue must not reset a claim or the attempt count.
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      return false;
    }
  }

  async list(userId: string): Promise<PendingItem[]> {
    const now = this.now();
    const out: PendingItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :p AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":p": keys.user(userId), ":prefix": keys.pendingPrefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of res.Items ?? []) if (!isExpired(raw, now)) out.push(toItem(raw));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * The users with an item enqueued between `from` and `to`, each with the oldest such
   * item's enqueuedAt, oldest first. Reads gsi1's waiting partition, which is eventually
   * consistent: for the watchdog, which looks again on its next run anyway.
   */
  async waitingUsers(from: Date, to: Date): Promise<WaitingUser[]> {
    const now = this.now();
    const oldest = new Map<string, string>();
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :p AND gsi1sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":p": keys.waitingItems,
            ":from": from.toISOString(),
            ":to": to.toISOString(),
          },
          ProjectionExpression: "userId, enqueuedAt, #ttl",
          ExpressionAttributeNames: { "#ttl": "ttl" },
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of res.Items ?? []) {
        const { userId, enqueuedAt } = raw;
        if (isExpired(raw, now) || typeof userId !== "string" || typeof enqueuedAt !== "string") continue;
        // The index is sorted by enqueue time: the first item seen of a user is its oldest.
        if (!oldest.has(userId)) oldest.set(userId, enqueuedAt);
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return [...oldest].map(([userId, enqueuedAt]) => ({ userId, enqueuedAt }));
  }

  async claim(
    userId: string,
    itemId: string,
    workerId: string,
    leaseUntil: Date,
  ): Promise<PendingItem | undefined> {
    const now = this.now();
    const lease = leaseTime(leaseUntil);
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(userId, itemId),
          UpdateExpression: "SET claimedBy = :w, leaseUntil = :lu, leaseMs = :lm ADD attempts :one",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(claimedBy) OR leaseMs <= :now) " +
            "AND (attribute_not_exists(#ttl) OR #ttl > :nowSec)",
          ExpressionAttributeNames: { "#ttl": "ttl" },
          ExpressionAttributeValues: {
            ":w": workerId,
            ":lu": new Date(lease).toISOString(),
            ":lm": lease,
            ":one": 1,
            ":now": now,
            ":nowSec": Math.floor(now / 1000),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return res.Attributes ? toItem(res.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw err;
    }
  }

  async renew(userId: string, itemId: string, workerId: string, leaseUntil: Date): Promise<boolean> {
    const lease = leaseTime(leaseUntil);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(userId, itemId),
          UpdateExpression: "SET leaseUntil = :lu, leaseMs = :lm",
          ConditionExpression: "claimedBy = :w",
          ExpressionAttributeValues: { ":w": workerId, ":lu": new Date(lease).toISOString(), ":lm": lease },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async complete(userId: string, itemId: string, workerId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(userId, itemId),
          ConditionExpression: "claimedBy = :w",
          ExpressionAttributeValues: { ":w": workerId },
        }),
      );
    } catch (err) {
      // Another worker took it over after our lease ran out: it is theirs to finish.
      if (!isConditionFailed(err)) throw err;
    }
  }

  async remove(userId: string, itemId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: this.key(userId, itemId) }));
  }

  /** Also gives back the attempt the claim counted: the item never ran. */
  async release(userId: string, itemId: string, workerId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(userId, itemId),
          UpdateExpression: "SET attempts = attempts - :one REMOVE claimedBy, leaseUntil, leaseMs",
          ConditionExpression: "claimedBy = :w AND attempts > :zero",
          ExpressionAttributeValues: { ":w": workerId, ":one": 1, ":zero": 0 },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
}
