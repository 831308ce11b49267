import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { createDynamoClient, toDocumentClient } from "../aws/dynamo-client";
import { LOCAL_DYNAMO_CREDENTIALS, type LocalDynamo, startLocalDynamo } from "../local-cloud/dynamo";

export interface TestDynamo {
  readonly local: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * Starts one in-memory dynalite on an ephemeral port for the calling test file, over a
 * real socket, and stops it after the file's tests. Read the fields inside tests or hooks.
 */
export function startTestDynamo(): TestDynamo {
  let local: LocalDynamo | undefined;
  let client: DynamoDBDocumentClient | undefined;
  beforeAll(async () => {
    local = await startLocalDynamo({ port: 0 });
    client = toDocumentClient(
      createDynamoClient({
        endpoint: local.endpoint,
        region: local.region,
        credentials: LOCAL_DYNAMO_CREDENTIALS,
      }),
    );
  });
  afterAll(async () => {
    client?.destroy();
    await local?.close();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("test dynamo not started yet");
    return value;
  };
  return {
    get local() {
      return need(local);
    },
    get client() {
      return need(client);
    },
    get tableName() {
      return need(local).tableName;
    },
  };
}
