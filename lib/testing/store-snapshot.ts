import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type AttributeValue, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { TABLE } from "../contracts/table";

/*
 * Everything a request could have written in local mode, as one comparable map: every
 * DynamoDB item (by key) and every file of the blob and secret folders (by path), each
 * with a hash of its content. Two snapshots differ exactly where something was written.
 */

export type StoreSnapshot = Map<string, string>;

const hash = (data: string | Buffer) => createHash("sha256").update(data).digest("hex").slice(0, 16);

/** Attribute values in a stable order, so that equal items hash equally. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === "object" && !(value instanceof Uint8Array))
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}

function filesUnder(dir: string, into: StoreSnapshot, label: string, root = dir): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, into, label, root);
    else into.set(`${label}:${relative(root, path)}`, hash(readFileSync(path)));
  }
}

export async function snapshotStores(opts: {
  client: DynamoDBClient;
  tableName: string;
  /** Folders whose files count as stored state (the local blob and secret stores). */
  dirs?: Record<string, string>;
}): Promise<StoreSnapshot> {
  const out: StoreSnapshot = new Map();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await opts.client.send(
      new ScanCommand({ TableName: opts.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const key = `db:${item[TABLE.partitionKey]?.S ?? "?"}|${item[TABLE.sortKey]?.S ?? "?"}`;
      out.set(key, hash(JSON.stringify(stable(item))));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  for (const [label, dir] of Object.entries(opts.dirs ?? {})) filesUnder(dir, out, label);
  return out;
}

/** The keys that were added, removed or changed between two snapshots, sorted. */
export function changedKeys(before: StoreSnapshot, after: StoreSnapshot): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}
