import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_SETTINGS, type TaskState, type TaskStatus, taskStateSchema } from "../contracts";
import { AppError } from "../errors";
import type { TaskStateStore } from "../ports";
import { checkUserId, type DynamoStoreOptions, isConditionFailed, keys, stripStorage } from "./dynamo-keys";

const nextSchema = taskStateSchema.omit({ userId: true, version: true });

/**
 * TaskStateStore on the single table: one row per user (`USER#<uid>`, `TASK`). Every write
 * is a PutItem conditioned on the version read before, so of two writers racing from the
 * same version exactly one wins. Rows that are not Idle are also in the sparse gsi1
 * partition `TASK#ACTIVE`, which the watchdog lists without scanning the table.
 */
export class DynamoTaskStateStore implements TaskStateStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(opts: DynamoStoreOptions) {
    this.doc = opts.client;
    this.table = opts.tableName;
  }

  async get(userId: string): Promise<TaskState> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.taskSk },
        ConsistentRead: true,
      }),
    );
    if (!res.Item) {
      return {
        userId: checkUserId(userId),
        status: "Idle",
        version: 0,
        idleTimeoutMinutes: DEFAULT_SETTINGS.idleTimeoutMinutes,
      };
    }
    return taskStateSchema.parse(stripStorage(res.Item));
  }

  async compareAndSet(
    userId: string,
    expectedVersion: number,
    next: Omit<TaskState, "userId" | "version">,
    expectedStatus?: TaskStatus[],
  ): Promise<TaskState | undefined> {
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0)
      throw new AppError("bad_request", "expectedVersion must be a non-negative integer");
    const parsed = nextSchema.safeParse(next);
    if (!parsed.success) throw new AppError("bad_request", "invalid task state");
    const state: TaskState = { ...parsed.data, userId: checkUserId(userId), version: expectedVersion + 1 };

    const names: Record<string, string> = { "#version": "version" };
    const values: Record<string, unknown> = { ":v": expectedVersion };
    let existing = "#version = :v";
    if (expectedStatus && expectedStatus.length > 0) {
      names["#status"] = "status";
      const placeholders = expectedStatus.map((s, i) => {
        values[`:s${i}`] = s;
        return `:s${i}`;
      });
      existing += ` AND #status IN (${placeholders.join(", ")})`;
    }
    // A missing row is the implicit "Idle, version 0" that get() returns.
    const missingAllowed = expectedVersion === 0 && (!expectedStatus || expectedStatus.includes("Idle"));
    const condition = missingAllowed ? `attribute_not_exists(pk) OR (${existing})` : existing;

    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: keys.user(userId),
            sk: keys.taskSk,
            entity: "task",
            ...(state.status === "Idle" ? {} : { gsi1pk: keys.activeTasks, gsi1sk: state.userId }),
            ...state,
          },
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return state;
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw err;
    }
  }

  async listActive(): Promise<TaskState[]> {
    const out: TaskState[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :p",
          ExpressionAttributeValues: { ":p": keys.activeTasks },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const parsed = taskStateSchema.safeParse(stripStorage(item));
        // The index is eventually consistent in AWS: skip a row that became Idle meanwhile.
        if (parsed.success && parsed.data.status !== "Idle") out.push(parsed.data);
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
