import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AppConfig } from "../env";

export interface DynamoClientOptions {
  region: string;
  /** Only for a local server (dynalite, DynamoDB Local). AWS uses the regional endpoint. */
  endpoint?: string;
  /** Only in local mode. In AWS the default provider chain (task role, Lambda role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The low-level client (table management, tests). */
export function createDynamoClient(opts: DynamoClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
}

/**
 * Wraps a low-level client in the document client the stores use. Undefined values are
 * dropped, so optional fields of our zod types can be written as they are.
 */
export function toDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/** The document client for the app's configuration: local endpoint and credentials, or AWS defaults. */
export function createDynamoDocumentClient(config: AppConfig): DynamoDBDocumentClient {
  return toDocumentClient(
    createDynamoClient({
      region: config.region,
      endpoint: config.dynamodb.endpoint,
      credentials: config.mode === "local" ? config.credentials : undefined,
    }),
  );
}
