import { AppSyncEventsPublisher } from "./aws/appsync-events-publisher";
import { DynamoChatStore } from "./aws/dynamo-chat-store";
import { createDynamoDocumentClient } from "./aws/dynamo-client";
import { DynamoPendingQueue } from "./aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "./aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "./aws/dynamo-task-state-store";
import { JwtTokenVerifier } from "./aws/jwt-token-verifier";
import { type AppConfig, getConfig } from "./env";
import { AppError } from "./errors";
import type {
  BlobStore,
  ChatStore,
  EventPublisher,
  PendingQueue,
  RuntimeLauncher,
  SecretStore,
  SettingsStore,
  TaskStateStore,
  TokenVerifier,
} from "./ports";

/**
 * The composition root: the only place that chooses local or AWS adapters, from the
 * validated configuration (lib/env.ts). Adapters are built lazily on first use and
 * memoized per process, so a route that only needs the verifier never opens a DynamoDB
 * client.
 */
export interface Container {
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
}

/** A port whose adapter is not part of this build yet: every call fails with 503. */
function unavailable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      if (prop === "then") return undefined; // not a thenable
      return () => Promise.reject(new AppError("unavailable", `${what} is not available in this build`));
    },
  });
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

/** Builds a container for a configuration (tests build their own from a local cloud). */
export function createContainer(config: AppConfig): Container {
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
  return {
    config,
    get verifier() {
      return once("verifier", () => buildVerifier(config));
    },
    get chatStore() {
      return once("chatStore", () => new DynamoChatStore(dynamo()));
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
      return once("blobs", () => unavailable<BlobStore>("the blob store"));
    },
    get publisher() {
      return once(
        "publisher",
        () =>
          new AppSyncEventsPublisher({
            httpEndpoint: config.events.httpEndpoint,
            region: config.region,
            // Local mode signs with the local cloud's key pair; AWS uses the provider chain.
            credentials: config.mode === "local" ? config.credentials : undefined,
          }),
      );
    },
    get secrets() {
      return once("secrets", () => unavailable<SecretStore>("the secret store"));
    },
    get launcher() {
      return once("launcher", () => unavailable<RuntimeLauncher>("the runtime launcher"));
    },
  };
}

let cached: Container | undefined;

/** The process-wide container, built from getConfig() on first use. */
export function getContainer(): Container {
  cached ??= createContainer(getConfig());
  return cached;
}
