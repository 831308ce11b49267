import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../aws/dynamo-client";
import type { AppConfig } from "../env";

/*
 * What `GET /api/health` reports in local mode: whether each local service answers.
 * Only states and short error codes, never endpoints' credentials.
 */

export type ServiceState = { status: "ok"; ms: number } | { status: "down"; error: string };

export interface LocalHealth {
  dynamodb: ServiceState;
  events: ServiceState;
  cognito: ServiceState;
  blobs: ServiceState;
  secrets: ServiceState;
}

const TIMEOUT_MS = 2_000;

function shortError(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? e?.name ?? "error";
}

async function timed(check: () => Promise<void>): Promise<ServiceState> {
  const started = performance.now();
  try {
    await check();
    return { status: "ok", ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: "down", error: shortError(err) };
  }
}

/** Any HTTP answer means the server is up; a refused connection or a timeout means down. */
async function answers(url: string, expectOk: boolean): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.body?.cancel();
  if (expectOk && !res.ok) throw Object.assign(new Error("bad status"), { code: `HTTP_${res.status}` });
}

export async function checkLocalServices(config: AppConfig): Promise<LocalHealth> {
  const [dynamodb, events, cognito, blobs, secrets] = await Promise.all([
    timed(async () => {
      const client = createDynamoClient({
        region: config.region,
        endpoint: config.dynamodb.endpoint,
        credentials: config.credentials,
      });
      try {
        await client.send(new DescribeTableCommand({ TableName: config.dynamodb.tableName }), {
          abortSignal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } finally {
        client.destroy();
      }
    }),
    timed(() => answers(config.events.httpEndpoint, false)),
    timed(() => answers(`${config.auth.endpoint ?? ""}/health`, true)),
    timed(() => (config.blobs.kind === "fs" ? access(config.blobs.dir, constants.W_OK) : Promise.resolve())),
    timed(() =>
      config.secrets.kind === "file" ? access(config.secrets.dir, constants.W_OK) : Promise.resolve(),
    ),
  ]);
  return { dynamodb, events, cognito, blobs, secrets };
}
