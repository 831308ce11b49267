import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import {
  type Conversation,
  conversationSchema,
  idSchema,
  type Message,
  messageSchema,
  newId,
} from "../contracts";
import { AppError, formatIssues } from "../errors";
import type { BlobStore, ChatStore, Page } from "../ports";
import {
  batchDelete,
  checkId,
  checkUserId,
  clampLimit,
  type DynamoStoreOptions,
  decodeCursor,
  encodeCursor,
  isConditionFailed,
  keys,
  normalizeIso,
  stripStorage,
} from "./dynamo-keys";

const CONVERSATION_PAGE = { fallback: 50, max: 200 };
const MESSAGE_PAGE = { fallback: 100, max: 500 };

function isItemTooLarge(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: string }).name === "ValidationException" &&
    /item size/i.test((err as Error).message)
  );
}

function toConversation(item: Record<string, unknown>): Conversation {
  return conversationSchema.parse(stripStorage(item));
}

function toMessage(item: Record<string, unknown>): Message {
  return messageSchema.parse(stripStorage(item));
}

/** The attribute of a message row whose content and tools are in the blob store: the blob's key. */
const BODY_KEY = "bodyKey";

/** What a message row moved to the blob store holds (all a reader gets back). */
const bodySchema = messageSchema.pick({ content: true, tools: true });

/**
 * The blob of a message too large for its row: under the user's prefix, beside (never
 * inside) the OpenClaw state folder. Each write gets its own key, so a put that loses the
 * put-once race never overwrites the winner's body.
 */
export function messageBodyKey(userId: string, conversationId: string, messageId: string): string {
  return `users/${checkUserId(userId)}/messages/${checkId(conversationId, "conversation")}/${checkId(messageId, "message")}.${newId()}.json`;
}

/** What a message reads as when its body blob is missing (it should never be). */
export const MISSING_BODY = "[This message is stored separately and could not be read.]";

/** The parts of an update expression for one conversation row. */
interface RowChange {
  sets: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
}

function emptyChange(): RowChange {
  return { sets: [], names: {}, values: {} };
}

/** Moving a conversation up: its updatedAt and its place in the gsi1 listing. */
function movedUp(conversationId: string, updatedAt: string): RowChange {
  return {
    sets: ["#updatedAt = :updatedAt", "gsi1sk = :gsi1sk"],
    names: { "#updatedAt": "updatedAt" },
    values: { ":updatedAt": updatedAt, ":gsi1sk": keys.conversationUpdateSk(updatedAt, conversationId) },
  };
}

function invalid(what: string, error: z.ZodError): AppError {
  return new AppError("bad_request", `invalid ${what}: ${formatIssues(error)}`);
}

export interface DynamoChatStoreOptions extends DynamoStoreOptions {
  /**
   * Where a message too large for one item (400 KB) keeps its content and tools. Without
   * it such a message is refused with payload_too_large.
   */
  blobs?: () => BlobStore;
}

/**
 * ChatStore on the single table. Conversation rows sit in the owner's partition
 * (`USER#<uid>`, `CONV#<id>`) and in gsi1 under `USER#<uid>#CONVS` sorted by updatedAt;
 * messages have a partition per conversation (`USER#<uid>#CONV#<id>`, `MSG#<id>`), sorted
 * by their time-sortable ids. A message larger than an item (a reply with hundreds of tool
 * calls) keeps its content and tools in the blob store and their key in its row; every read
 * puts them back, so callers never see the difference.
 */
export class DynamoChatStore implements ChatStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly blobs: (() => BlobStore) | undefined;

  constructor(opts: DynamoChatStoreOptions) {
    this.doc = opts.client;
    this.table = opts.tableName;
    this.blobs = opts.blobs;
  }

  private conversationItem(userId: string, c: Conversation): Record<string, unknown> {
    return {
      pk: keys.user(userId),
      sk: keys.conversationSk(c.id),
      gsi1pk: keys.conversationsByUpdate(userId),
      gsi1sk: keys.conversationUpdateSk(c.updatedAt, c.id),
      entity: "conversation",
      ...c,
    };
  }

  async createConversation(userId: string, conversation: Conversation): Promise<void> {
    const parsed = conversationSchema.safeParse(conversation);
    if (!parsed.success) throw invalid("conversation", parsed.error);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: this.conversationItem(userId, parsed.data),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new AppError("conflict", "conversation already exists");
      throw err;
    }
  }

  async getConversation(userId: string, conversationId: string): Promise<Conversation | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.conversationSk(conversationId) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? toConversation(res.Item) : undefined;
  }

  async listConversations(
    userId: string,
    opts: { limit?: number; cursor?: string } = {},
  ): Promise<Page<Conversation>> {
    const limit = clampLimit(opts.limit, CONVERSATION_PAGE.fallback, CONVERSATION_PAGE.max);
    const gsi1pk = keys.conversationsByUpdate(userId);
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: "gsi1",
      KeyConditionExpression: "gsi1pk = :p",
      ExpressionAttributeValues: { ":p": gsi1pk },
      ScanIndexForward: false,
      // One extra row tells whether another page exists, so the last page has no cursor.
      Limit: limit + 1,
    };
    if (opts.cursor) {
      const pos = decodeCursor(opts.cursor, { id: idSchema, updatedAt: z.string().datetime() });
      input.ExclusiveStartKey = {
        pk: keys.user(userId),
        sk: keys.conversationSk(pos.id),
        gsi1pk,
        gsi1sk: keys.conversationUpdateSk(pos.updatedAt, pos.id),
      };
    }
    const items = await this.queryUpTo(input, limit + 1);
    const page = items.slice(0, limit).map(toConversation);
    const last = page.at(-1);
    return items.length > limit && last
      ? { items: page, cursor: encodeCursor({ id: last.id, updatedAt: normalizeIso(last.updatedAt) }) }
      : { items: page };
  }

  async updateConversation(
    userId: string,
    conversationId: string,
    patch: Partial<Pick<Conversation, "title" | "updatedAt">>,
  ): Promise<Conversation> {
    const parsed = conversationSchema.pick({ title: true, updatedAt: true }).partial().safeParse(patch);
    if (!parsed.success) throw invalid("conversation update", parsed.error);
    const { title, updatedAt } = parsed.data;
    if (title === undefined && updatedAt === undefined) {
      const current = await this.getConversation(userId, conversationId);
      if (!current) throw new AppError("not_found", "conversation not found");
      return current;
    }
    const change: RowChange = updatedAt !== undefined ? movedUp(conversationId, updatedAt) : emptyChange();
    if (title !== undefined) {
      change.sets.push("#title = :title");
      change.names["#title"] = "title";
      change.values[":title"] = title;
    }
    return toConversation(await this.updateRow(userId, conversationId, change));
  }

  /**
   * The one conditional update of a conversation row: not_found for a row that does not
   * exist (or is someone else's: keys are per user) or whose delete has begun.
   */
  private async updateRow(
    userId: string,
    conversationId: string,
    change: RowChange,
  ): Promise<Record<string, unknown>> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.user(userId), sk: keys.conversationSk(conversationId) },
          UpdateExpression: `SET ${change.sets.join(", ")}`,
          // A conversation whose delete has begun is as good as gone.
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(deleting)",
          ExpressionAttributeNames: change.names,
          ExpressionAttributeValues: change.values,
          ReturnValues: "ALL_NEW",
        }),
      );
      if (!res.Attributes) throw new AppError("internal", "update returned no item");
      return res.Attributes;
    } catch (err) {
      if (isConditionFailed(err)) throw new AppError("not_found", "conversation not found");
      throw err;
    }
  }

  async deleteConversation(userId: string, conversationId: string): Promise<void> {
    const pk = keys.messages(userId, conversationId);
    // The row is marked first: from then on updateConversation answers not_found, so a writer
    // that stores a message and then moves the conversation up (the runtime does both for
    // every reply) learns that the conversation is going and removes what it stored. A
    // message stored before the mark is found by the query below. Then the messages, and the
    // row last: a delete interrupted half-way leaves the conversation visible, so repeating
    // the delete finishes the job.
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.user(userId), sk: keys.conversationSk(conversationId) },
          UpdateExpression: "SET deleting = :yes",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":yes": true },
        }),
      );
    } catch (err) {
      // Already gone: what may be left under it is removed all the same.
      if (!isConditionFailed(err)) throw err;
    }
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :p",
          ExpressionAttributeValues: { ":p": pk },
          ProjectionExpression: `pk, sk, ${BODY_KEY}`,
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      const items = res.Items ?? [];
      // Bodies before their rows: a delete interrupted here still finds the rows next time.
      for (const item of items) {
        const key = item[BODY_KEY];
        if (typeof key === "string") await this.blobStore().delete(key);
      }
      await batchDelete(
        this.doc,
        this.table,
        items.map(({ pk, sk }) => ({ pk, sk })),
      );
      start = res.LastEvaluatedKey;
    } while (start);
    await this.doc.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.conversationSk(conversationId) },
      }),
    );
  }

  async putMessage(userId: string, message: Message): Promise<boolean> {
    const parsed = messageSchema.safeParse(message);
    if (!parsed.success) throw invalid("message", parsed.error);
    const m = parsed.data;
    const row = { pk: keys.messages(userId, m.conversationId), sk: keys.messageSk(m.id), entity: "message" };
    try {
      return await this.putOnce({ ...row, ...m });
    } catch (err) {
      if (!isItemTooLarge(err)) throw err;
      if (!this.blobs)
        throw new AppError("payload_too_large", "message is larger than the 400 KB a stored item may hold");
    }
    // Too large for a row: the body goes to the blob store first, so a row never points to nothing.
    const key = messageBodyKey(userId, m.conversationId, m.id);
    const body = bodySchema.parse({ content: m.content, ...(m.tools ? { tools: m.tools } : {}) });
    await this.blobStore().put(key, new TextEncoder().encode(JSON.stringify(body)), {
      contentType: "application/json",
    });
    const { content: _c, tools: _t, ...rest } = m;
    const stored = await this.putOnce({ ...row, ...rest, content: "", [BODY_KEY]: key }).catch(
      async (err) => {
        await this.blobStore()
          .delete(key)
          .catch(() => undefined);
        throw err;
      },
    );
    if (!stored) await this.blobStore().delete(key);
    return stored;
  }

  /** Writes a message row unless one with its key exists: false when it did. */
  private async putOnce(item: Record<string, unknown>): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  private blobStore(): BlobStore {
    if (!this.blobs)
      throw new AppError("internal", "a message body is in the blob store, which is not configured");
    return this.blobs();
  }

  /** A message row as the caller sees it: with its body read back when it lives in the blob store. */
  private async readMessage(item: Record<string, unknown>): Promise<Message> {
    const message = toMessage(item);
    const key = item[BODY_KEY];
    if (typeof key !== "string") return message;
    const raw = await this.blobStore().get(key);
    const body = raw ? bodySchema.safeParse(JSON.parse(new TextDecoder().decode(raw))) : undefined;
    return body?.success ? { ...message, ...body.data } : { ...message, content: MISSING_BODY };
  }

  async getMessage(userId: string, conversationId: string, messageId: string): Promise<Message | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.messages(userId, conversationId), sk: keys.messageSk(messageId) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? this.readMessage(res.Item) : undefined;
  }

  async deleteMessage(userId: string, conversationId: string, messageId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: keys.messages(userId, conversationId), sk: keys.messageSk(messageId) },
      }),
    );
  }

  async getConversationAndMessage(
    userId: string,
    conversationId: string,
    messageId: string,
  ): Promise<{ conversation?: Conversation; message?: Message }> {
    const conversationKey = { pk: keys.user(userId), sk: keys.conversationSk(conversationId) };
    const messageKey = { pk: keys.messages(userId, conversationId), sk: keys.messageSk(messageId) };
    let pending: Record<string, unknown>[] = [conversationKey, messageKey];
    const found: Record<string, unknown>[] = [];
    // One request instead of two. DynamoDB may leave keys unprocessed under load: those
    // are asked for again, a few times, and then read one by one.
    for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      const res = await this.doc.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(res.Responses?.[this.table] ?? []));
      pending = res.UnprocessedKeys?.[this.table]?.Keys ?? [];
    }
    for (const key of pending) {
      const res = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
      );
      if (res.Item) found.push(res.Item);
    }
    const pick = (key: { pk: string; sk: string }) => found.find((i) => i.pk === key.pk && i.sk === key.sk);
    const conversation = pick(conversationKey);
    const message = pick(messageKey);
    return {
      ...(conversation ? { conversation: toConversation(conversation) } : {}),
      ...(message ? { message: await this.readMessage(message) } : {}),
    };
  }

  async listMessages(
    userId: string,
    conversationId: string,
    opts: { limit?: number; cursor?: string; after?: string; newestFirst?: boolean } = {},
  ): Promise<Page<Message>> {
    const limit = clampLimit(opts.limit, MESSAGE_PAGE.fallback, MESSAGE_PAGE.max);
    const pk = keys.messages(userId, conversationId);
    const values: Record<string, unknown> = { ":p": pk };
    let condition: string;
    if (opts.after !== undefined) {
      // The partition holds only MSG# rows, so "greater than" needs no upper bound.
      values[":after"] = keys.messageSk(checkId(opts.after, "message"));
      condition = "pk = :p AND sk > :after";
    } else {
      values[":prefix"] = "MSG#";
      condition = "pk = :p AND begins_with(sk, :prefix)";
    }
    const input: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: !opts.newestFirst,
      ConsistentRead: true,
      Limit: limit + 1,
    };
    if (opts.cursor) {
      const pos = decodeCursor(opts.cursor, { id: idSchema });
      input.ExclusiveStartKey = { pk, sk: keys.messageSk(pos.id) };
    }
    const items = await this.queryUpTo(input, limit + 1);
    const page = await Promise.all(items.slice(0, limit).map((item) => this.readMessage(item)));
    const last = page.at(-1);
    return items.length > limit && last
      ? { items: page, cursor: encodeCursor({ id: last.id }) }
      : { items: page };
  }

  /** Runs a query until `want` items are read or the partition ends. */
  private async queryUpTo(input: QueryCommandInput, want: number): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let start = input.ExclusiveStartKey;
    do {
      const res = await this.doc.send(
        new QueryCommand({ ...input, ExclusiveStartKey: start, Limit: want - out.length }),
      );
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start && out.length < want);
    return out;
  }
}
