import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../aws/dynamo-client";
import { TABLE } from "../contracts/table";
import { errorMessage } from "../errors";

/*
 * The local DynamoDB: dynalite (pure JS, LevelDB on disk or in memory) on 127.0.0.1.
 * dynalite has no TransactWriteItems and never deletes expired TTL items, so the stores
 * use single-item conditional writes and filter expired items on read.
 */

export const DEFAULT_TABLE_NAME = "openclaw";

/** Credentials the local server accepts (dynalite checks the SigV4 shape, not the secret). */
export const LOCAL_DYNAMO_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local-secret" } as const;

export interface LocalDynamoOptions {
  /** 0 (the default) picks a free port. A port in use is an error, never a wait. */
  port?: number;
  /** LevelDB directory for data that survives restarts; in memory when absent. */
  dataDir?: string;
  tableName?: string;
  region?: string;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  tableName: string;
  region: string;
  close(): Promise<void>;
}

type DynaliteFactory = (opts: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

const require = createRequire(import.meta.url);
const dynalite = require("dynalite") as DynaliteFactory;

/**
 * dynalite opens its LevelDB lazily and crashes the whole process on the first request
 * when the directory is locked by another process. Opening it once ourselves first turns
 * that into a clear error. `level` is resolved from dynalite's own dependencies.
 */
async function assertDataDirFree(dir: string): Promise<void> {
  const levelRequire = createRequire(require.resolve("dynalite"));
  const { Level } = levelRequire("level") as {
    Level: new (
      path: string,
      opts: { valueEncoding: string },
    ) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(dir, { valueEncoding: "json" });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const locked = cause?.code === "LEVEL_LOCKED" || /lock/i.test(errorMessage(err));
    throw new Error(
      locked
        ? `DynamoDB data directory ${dir} is in use by another process (is \`npm run dev\` already running?)`
        : `cannot open DynamoDB data directory ${dir}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  await db.close();
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`cannot start local DynamoDB: port ${port} on 127.0.0.1 is already in use`)
          : new Error(`cannot start local DynamoDB on 127.0.0.1:${port}: ${err.message}`, { cause: err }),
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolvePort((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, "127.0.0.1");
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((done, fail) => {
    server.close((err) => (err ? fail(err) : done()));
    // SDK clients keep sockets alive; without this, close waits for them to time out.
    server.closeAllConnections();
  });
}

/**
 * Starts dynalite on 127.0.0.1 and creates the project's table if it is missing.
 * `close()` stops the server and flushes LevelDB.
 */
export async function startLocalDynamo(opts: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const port = opts.port ?? 0;
  const tableName = opts.tableName ?? DEFAULT_TABLE_NAME;
  const region = opts.region ?? "us-east-1";
  let path: string | undefined;
  if (opts.dataDir) {
    path = resolve(opts.dataDir);
    mkdirSync(path, { recursive: true });
    await assertDataDirFree(path);
  }
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let actualPort: number;
  try {
    actualPort = await listen(server, port);
  } catch (err) {
    // dynalite closes its LevelDB only from a listening server's close(): listen on a free
    // port for a moment so the directory is released for a retry in this process.
    await listen(server, 0)
      .then(() => closeServer(server))
      .catch(() => undefined);
    throw err;
  }
  const endpoint = `http://127.0.0.1:${actualPort}`;
  const client = createDynamoClient({ endpoint, region, credentials: LOCAL_DYNAMO_CREDENTIALS });
  try {
    await ensureTable(client, tableName);
  } catch (err) {
    client.destroy();
    await closeServer(server).catch(() => undefined);
    throw err;
  }
  client.destroy();
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port: actualPort,
    tableName,
    region,
    close: () => {
      closing ??= closeServer(server);
      return closing;
    },
  };
}

function isAwsError(err: unknown, name: string): boolean {
  return typeof err === "object" && err !== null && (err as { name?: string }).name === name;
}

/**
 * Creates the single table (TABLE in lib/contracts/table.ts) if it does not exist and waits
 * until it is ACTIVE. Works against dynalite and DynamoDB Local; safe to race (a concurrent
 * creator's ResourceInUseException counts as success).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  let exists = true;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!isAwsError(err, "ResourceNotFoundException")) throw err;
    exists = false;
  }
  if (!exists) {
    const keyAttrs = new Set<string>([TABLE.partitionKey, TABLE.sortKey]);
    for (const ix of TABLE.indexes) {
      keyAttrs.add(ix.partitionKey);
      keyAttrs.add(ix.sortKey);
    }
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [...keyAttrs].map((name) => ({ AttributeName: name, AttributeType: "S" })),
          KeySchema: [
            { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
            { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
          ],
          GlobalSecondaryIndexes: TABLE.indexes.map((ix) => ({
            IndexName: ix.name,
            KeySchema: [
              { AttributeName: ix.partitionKey, KeyType: "HASH" },
              { AttributeName: ix.sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          })),
        }),
      );
    } catch (err) {
      if (!isAwsError(err, "ResourceInUseException")) throw err;
    }
  }
  await waitActive(client, tableName);
  if (!exists) await enableTtl(client, tableName);
}

async function waitActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every((ix) => ix.IndexStatus === "ACTIVE");
    if (Table?.TableStatus === "ACTIVE" && indexesReady) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`table ${tableName} did not become ACTIVE within 60 s`);
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    // dynalite does not implement UpdateTimeToLive; readers filter expired items anyway.
    if (!isAwsError(err, "UnknownOperationException")) throw err;
  }
}
