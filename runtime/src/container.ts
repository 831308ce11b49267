import { SSMClient } from "@aws-sdk/client-ssm";
import { AppSyncEventsPublisher } from "../../lib/aws/appsync-events-publisher";
import { AppSyncEventsSubscriber } from "../../lib/aws/appsync-events-subscriber";
import { DynamoChatStore } from "../../lib/aws/dynamo-chat-store";
import { createDynamoDocumentClient } from "../../lib/aws/dynamo-client";
import { DynamoPendingQueue } from "../../lib/aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "../../lib/aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "../../lib/aws/dynamo-task-state-store";
import { createS3Client, S3BlobStore } from "../../lib/aws/s3-blob-store";
import { SsmSecretStore } from "../../lib/aws/ssm-secret-store";
import type { AppConfig } from "../../lib/env";
import { FileSecretStore } from "../../lib/local/file-secret-store";
import { FsBlobStore } from "../../lib/local/fs-blob-store";
import type {
  BlobStore,
  ChatStore,
  EventPublisher,
  PendingQueue,
  SecretStore,
  SettingsStore,
  TaskStateStore,
} from "../../lib/ports";

/*
 * The runtime's adapters: the same lib/aws adapters the server uses (DynamoDB, AppSync
 * Events with SigV4, S3, SSM) and, in local mode, the local-only ones (filesystem blobs,
 * encrypted-file secrets). Only endpoints and credentials differ between modes. The names
 * are those of the web's adapters, so that the runner's ports are a pick of them.
 */

export interface SubscriberHooks {
  /** The realtime connection came back: wake-ups sent during the gap were lost. */
  onReconnect?: () => void;
  /** Diagnostics of the realtime connection (no secrets). */
  log?: (line: string) => void;
}

export interface RuntimeAdapters {
  chatStore: ChatStore;
  settingsStore: SettingsStore;
  taskStates: TaskStateStore;
  queue: PendingQueue;
  blobs: BlobStore;
  secrets: SecretStore;
  publisher: EventPublisher;
  /** A new IAM subscriber (one realtime connection) each call. */
  subscriber(hooks?: SubscriberHooks): AppSyncEventsSubscriber;
}

export function createRuntimeAdapters(config: AppConfig): RuntimeAdapters {
  const doc = createDynamoDocumentClient(config);
  const table = { client: doc, tableName: config.dynamodb.tableName };
  // Local mode signs with the local cloud's key pair; in AWS the task role comes from the provider chain.
  const credentials = config.mode === "local" ? config.credentials : undefined;
  return {
    chatStore: new DynamoChatStore(table),
    settingsStore: new DynamoSettingsStore(table),
    taskStates: new DynamoTaskStateStore(table),
    queue: new DynamoPendingQueue(table),
    blobs: createBlobStore(config),
    secrets: createSecretStore(config),
    publisher: new AppSyncEventsPublisher({
      httpEndpoint: config.events.httpEndpoint,
      region: config.region,
      credentials,
    }),
    subscriber: (hooks = {}) =>
      new AppSyncEventsSubscriber({
        httpEndpoint: config.events.httpEndpoint,
        realtimeEndpoint: config.events.realtimeEndpoint,
        region: config.region,
        auth: { type: "iam", credentials },
        onReconnect: hooks.onReconnect,
        log: hooks.log,
      }),
  };
}

function createBlobStore(config: AppConfig): BlobStore {
  if (config.blobs.kind === "fs") return new FsBlobStore({ dir: config.blobs.dir });
  return new S3BlobStore({
    client: createS3Client({
      region: config.region,
      endpoint: config.blobs.endpoint,
      credentials: config.credentials,
    }),
    bucket: config.blobs.bucket,
  });
}

function createSecretStore(config: AppConfig): SecretStore {
  if (config.secrets.kind === "file") return new FileSecretStore({ dir: config.secrets.dir });
  return new SsmSecretStore({
    client: new SSMClient({ region: config.region }),
    prefix: config.secrets.prefix,
  });
}
