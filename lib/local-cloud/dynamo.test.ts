import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createDynamoClient, toDocumentClient } from "../aws/dynamo-client";
import { TABLE } from "../contracts/table";
import { ensureTable, LOCAL_DYNAMO_CREDENTIALS, type LocalDynamo, startLocalDynamo } from "./dynamo";

const dirs: string[] = [];
const started: LocalDynamo[] = [];
const clients: DynamoDBClient[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dynamo-test-"));
  dirs.push(dir);
  return dir;
}

async function start(opts: Parameters<typeof startLocalDynamo>[0]): Promise<LocalDynamo> {
  const local = await startLocalDynamo(opts);
  started.push(local);
  return local;
}

function clientFor(local: LocalDynamo): DynamoDBClient {
  const client = createDynamoClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: LOCAL_DYNAMO_CREDENTIALS,
  });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const l of started.splice(0)) await l.close();
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("startLocalDynamo", () => {
  it("listens on an ephemeral 127.0.0.1 port and creates the table with gsi1", async () => {
    const local = await start({ tableName: "table-one" });
    expect(local.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(local.port).toBeGreaterThan(0);
    const { Table } = await clientFor(local).send(new DescribeTableCommand({ TableName: "table-one" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((ix) => [ix.IndexName, ix.KeySchema])).toEqual([
      [
        "gsi1",
        [
          { AttributeName: "gsi1pk", KeyType: "HASH" },
          { AttributeName: "gsi1sk", KeyType: "RANGE" },
        ],
      ],
    ]);
  });

  it("fails fast with a clear message when the port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startLocalDynamo({ port })).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it("releases its data directory after failing on a taken port", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = tempDir();
    try {
      await expect(startLocalDynamo({ port, dataDir })).rejects.toThrow("already in use");
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    const local = await start({ dataDir });
    expect(local.port).toBeGreaterThan(0);
  });

  it("keeps data in its data directory across a restart", async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const doc = toDocumentClient(clientFor(first));
    await doc.send(new PutCommand({ TableName: first.tableName, Item: { pk: "p", sk: "s", value: 42 } }));
    await first.close();

    const second = await start({ dataDir });
    const res = await toDocumentClient(clientFor(second)).send(
      new GetCommand({ TableName: second.tableName, Key: { pk: "p", sk: "s" } }),
    );
    expect(res.Item?.value).toBe(42);
  });

  it("refuses a data directory another server holds, instead of crashing later", async () => {
    const dataDir = tempDir();
    await start({ dataDir });
    await expect(startLocalDynamo({ dataDir })).rejects.toThrow(/in use by another process/);
  });

  it("close is idempotent and frees the port", async () => {
    const local = await start({});
    await local.close();
    await local.close();
    const again = await start({ port: local.port });
    expect(again.port).toBe(local.port);
  });
});

describe("ensureTable", () => {
  it("is idempotent and survives concurrent callers", async () => {
    const local = await start({ tableName: "base" });
    const client = clientFor(local);
    await Promise.all([ensureTable(client, "other"), ensureTable(client, "other")]);
    await ensureTable(client, "other");
    const { Table } = await client.send(new DescribeTableCommand({ TableName: "other" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
  });
});
