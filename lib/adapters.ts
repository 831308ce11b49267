import { SSMClient } from "@aws-sdk/client-ssm";
import { AppSyncEventsPublisher } from "./aws/appsync-events-publisher";
import { AppSyncEventsSubscriber } from "./aws/appsync-events-subscriber";
import { DynamoChatStore } from "./aws/dynamo-chat-store";
import { createDynamoDocumentClient } from "./aws/dynamo-client";
import { DynamoPendingQueue } from "./aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "./aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "./aws/dynamo-task-state-store";
import { EcsRuntimeLauncher } from "./aws/ecs-runtime-launcher";
import { JwtTokenVerifier } from "./aws/jwt-token-verifier";
import { createS3Client, S3BlobStore } from "./aws/s3-blob-store";
import { SsmSecretStore } from "./aws/ssm-secret-store";
import type { AppConfig } from "./env";
import { FileSecretStore } from "./local/file-secret-store";
import { FsBlobStore } from "./local/fs-blob-store";
import { ProcessRuntimeLauncher } from "./local/process-launcher";
import type {
  BlobStore,
  ChatStore,
  EventPublisher,
  EventSubscriber,
  PendingQueue,
  RuntimeLauncher,
  SecretStore,
  SettingsStore,
  TaskStateStore,
  TokenVerifier,
} from "./ports";

/**
 * The one adapter factory: the only place that chooses local or AWS implementations, from
 * the validated configuration (lib/env.ts). The web app's container and the runtime's main
 * both build their adapters here, so the DynamoDB, S3, SSM and AppSync Events code and the
 * credentials it signs with are the same for both. Adapters are built lazily on first use
 * and memoized, so a route that only needs the verifier never opens a DynamoDB client.
 */
export interface Adapters {
  readonly config: AppConfig;
  readonly chatStore: ChatStore;
  readonly settingsStore: SettingsStore;
  readonly taskStates: TaskStateStore;
  readonly queue: PendingQueue;
  readonly blobs: BlobStore;
  readonly publisher: EventPublisher;
  readonly secrets: SecretStore;
  readonly verifier: TokenVerifier;
  readonly launcher: RuntimeLauncher;
  /** A new IAM subscriber to the agent channel (the runtime's; each call opens its own connection). */
  subscriber(hooks?: SubscriberHooks): EventSubscriber;
}

export interface SubscriberHooks {
  /** The realtime connection came back: wake-ups sent during the gap were lost. */
  onReconnect?: () => void;
  /** Diagnostics of the realtime connection (no secrets). */
  log?: (line: string) => void;
}

export function buildVerifier(config: AppConfig): TokenVerifier {
  return new JwtTokenVerifier({
    issuer: config.auth.issuer,
    jwksUri: config.auth.jwksUri,
    clientId: config.auth.clientId,
    // cognito-local serves its public-key JWKS over http; only ever trusted in local mode.
    allowInsecureJwks: config.mode === "local",
  });
}

function buildBlobStore(config: AppConfig): BlobStore {
  const blobs = config.blobs;
  if (blobs.kind === "fs") return new FsBlobStore({ dir: blobs.dir });
  return new S3BlobStore({
    client: createS3Client({
      region: config.region,
      endpoint: blobs.endpoint,
      credentials: config.credentials,
    }),
    bucket: blobs.bucket,
  });
}

function buildSecretStore(config: AppConfig): SecretStore {
  const secrets = config.secrets;
  if (secrets.kind === "file") return new FileSecretStore({ dir: secrets.dir });
  return new SsmSecretStore({ client: new SSMClient({ region: config.region }), prefix: secrets.prefix });
}

function buildLauncher(config: AppConfig): RuntimeLauncher {
  const runtime = config.runtime;
  if (runtime.kind === "process") {
    if (!config.localCloudFile) throw new Error("the local runtime launcher needs the local cloud file");
    return new ProcessRuntimeLauncher({ stateDir: runtime.stateDir, localCloudFile: config.localCloudFile });
  }
  return new EcsRuntimeLauncher({
    region: config.region,
    cluster: runtime.cluster,
    taskDefinition: runtime.taskDefinition,
    containerName: runtime.containerName,
    subnets: runtime.subnets,
    securityGroups: runtime.securityGroups,
  });
}

/** Builds the adapters for a configuration (tests build their own from a local cloud). */
export function createAdapters(config: AppConfig): Adapters {
  const memo = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key) as T;
  };
  // One DynamoDB client for all stores: same code locally (dynalite) and in AWS.
  const dynamo = () => ({
    client: once("dynamo", () => createDynamoDocumentClient(config)),
    tableName: config.dynamodb.tableName,
  });
  const blobs = () => once("blobs", () => buildBlobStore(config));
  return {
    config,
    get verifier() {
      return once("verifier", () => buildVerifier(config));
    },
    get chatStore() {
      // Lazily: only a message too large for its row reaches the blob store.
      return once("chatStore", () => new DynamoChatStore({ ...dynamo(), blobs }));
    },
    get settingsStore() {
      return once("settingsStore", () => new DynamoSettingsStore(dynamo()));
    },
    get taskStates() {
      return once("taskStates", () => new DynamoTaskStateStore(dynamo()));
    },
    get queue() {
      return once("queue", () => new DynamoPendingQueue(dynamo()));
    },
    get blobs() {
      return blobs();
    },
    get publisher() {
      return once(
        "publisher",
        () =>
          new AppSyncEventsPublisher({
            httpEndpoint: config.events.httpEndpoint,
            region: config.region,
            // Local mode signs with the local cloud's key pair; AWS uses the provider chain.
            credentials: config.credentials,
          }),
      );
    },
    get secrets() {
      return once("secrets", () => buildSecretStore(config));
    },
    get launcher() {
      return once("launcher", () => buildLauncher(config));
    },
    subscriber: (hooks = {}) =>
      new AppSyncEventsSubscriber({
        httpEndpoint: config.events.httpEndpoint,
        realtimeEndpoint: config.events.realtimeEndpoint,
        region: config.region,
        auth: { type: "iam", credentials: config.credentials },
        onReconnect: hooks.onReconnect,
        log: hooks.log,
      }),
  };
}
