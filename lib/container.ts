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
  return {
    config,
    get verifier() {
      return once("verifier", () => buildVerifier(config));
    },
    get chatStore() {
      return once("chatStore", () => unavailable<ChatStore>("the chat store"));
    },
    get settingsStore() {
      return once("settingsStore", () => unavailable<SettingsStore>("the settings store"));
    },
    get taskStates() {
      return once("taskStates", () => unavailable<TaskStateStore>("the task state store"));
    },
    get queue() {
      return once("queue", () => unavailable<PendingQueue>("the pending queue"));
    },
    get blobs() {
      return once("blobs", () => unavailable<BlobStore>("the blob store"));
    },
    get publisher() {
      return once("publisher", () => unavailable<EventPublisher>("the event publisher"));
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
