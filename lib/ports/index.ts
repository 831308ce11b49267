import type {
  AgentEvent,
  ChatEvent,
  Conversation,
  Message,
  PendingItem,
  SecretName,
  Settings,
  TaskState,
  TaskStatus,
} from "../contracts";

/*
 * Small interfaces named by capability. `lib/aws` implements them for AWS and, wherever a
 * compatible local server exists, for local mode too; `lib/local` holds the local-only ones.
 * Every method that touches user data takes the owner's userId and only ever reads or
 * writes that user's items: ownership is enforced here, in the data access, not only in
 * the route handlers.
 */

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

/** Conversations and their messages. */
export interface ChatStore {
  createConversation(userId: string, conversation: Conversation): Promise<void>;
  /** Undefined when it does not exist or belongs to someone else. */
  getConversation(userId: string, conversationId: string): Promise<Conversation | undefined>;
  /** Newest (by updatedAt) first. */
  listConversations(userId: string, opts?: { limit?: number; cursor?: string }): Promise<Page<Conversation>>;
  /**
   * Throws AppError("not_found") when the conversation is not the user's, or when its delete
   * has begun: a writer that stores a message and then calls this learns that the
   * conversation is going (and removes what it stored).
   */
  updateConversation(
    userId: string,
    conversationId: string,
    patch: Partial<Pick<Conversation, "title" | "updatedAt">>,
  ): Promise<Conversation>;
  /**
   * Deletes the conversation and all its messages. Idempotent. From its start, updates of the
   * conversation fail with not_found; a message stored before then is deleted with the rest.
   */
  deleteConversation(userId: string, conversationId: string): Promise<void>;
  /**
   * Stores a message once: a second put with the same id is a no-op that returns false.
   * This is what makes a crashed-and-retried run never store a duplicate reply.
   */
  putMessage(userId: string, message: Message): Promise<boolean>;
  getMessage(userId: string, conversationId: string, messageId: string): Promise<Message | undefined>;
  /**
   * Removes one message (a failed reply before its retry). Idempotent; someone else's
   * message is never touched (keys are per user).
   */
  deleteMessage(userId: string, conversationId: string, messageId: string): Promise<void>;
  /**
   * A conversation and one of its messages in one read: what the runtime checks before a
   * run (does the conversation still exist, is a reply already stored). What does not
   * exist, or is someone else's, is left out.
   */
  getConversationAndMessage(
    userId: string,
    conversationId: string,
    messageId: string,
  ): Promise<{ conversation?: Conversation; message?: Message }>;
  /** Oldest first. `after` returns messages with ids greater than it (catch-up after a reconnect). */
  listMessages(
    userId: string,
    conversationId: string,
    opts?: { limit?: number; cursor?: string; after?: string; newestFirst?: boolean },
  ): Promise<Page<Message>>;
}

/** Per-user settings (never secrets: those live in SecretStore). */
export interface SettingsStore {
  /** The stored settings merged over DEFAULT_SETTINGS. */
  getSettings(userId: string): Promise<Settings>;
  putSettings(userId: string, settings: Settings): Promise<void>;
}

/** The one row per user that guarantees at most one runtime per user. */
export interface TaskStateStore {
  /** An Idle row with version 0 when none exists yet. */
  get(userId: string): Promise<TaskState>;
  /**
   * Writes `next` only if the stored version is still `expectedVersion` (and, when given,
   * the status is one of `expectedStatus`). Returns the new state, or undefined when the
   * condition failed because someone else wrote first.
   */
  compareAndSet(
    userId: string,
    expectedVersion: number,
    next: Omit<TaskState, "userId" | "version">,
    expectedStatus?: TaskStatus[],
  ): Promise<TaskState | undefined>;
  /** Every row that is not Idle (for the watchdog). */
  listActive(): Promise<TaskState[]>;
}

/** The durable per-user queue of messages waiting for the runtime. */
export interface PendingQueue {
  /** Idempotent by item id: true when this call created the item, false when it was there already. */
  enqueue(item: PendingItem): Promise<boolean>;
  /** Everything waiting or claimed, oldest first. */
  list(userId: string): Promise<PendingItem[]>;
  /**
   * Claims an item for `workerId` until `leaseUntil`, with a conditional write: succeeds
   * only if it is unclaimed or its lease has expired. Increments `attempts`.
   */
  claim(userId: string, itemId: string, workerId: string, leaseUntil: Date): Promise<PendingItem | undefined>;
  /** Extends a lease this worker holds. False if the worker lost it. */
  renew(userId: string, itemId: string, workerId: string, leaseUntil: Date): Promise<boolean>;
  /** Removes a finished item (only if this worker holds it). */
  complete(userId: string, itemId: string, workerId: string): Promise<void>;
  /** Drops an item regardless of claim (user deleted the conversation). */
  remove(userId: string, itemId: string): Promise<void>;
  /** Hands an item back unclaimed (graceful shutdown before it ran). */
  release(userId: string, itemId: string, workerId: string): Promise<void>;
}

/** Opaque bytes by key: OpenClaw state snapshots. */
export interface BlobStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, body: Uint8Array, opts?: { contentType?: string }): Promise<void>;
  /** Keys under a prefix with their sizes and an etag-like fingerprint. */
  list(prefix: string): Promise<{ key: string; size: number; etag?: string }[]>;
  delete(key: string): Promise<void>;
}

/** Publishes to AppSync Events (HTTP `POST /event`). Splits into 5-event, 240 KB batches. */
export interface EventPublisher {
  publish(channel: string, events: (ChatEvent | AgentEvent)[]): Promise<void>;
}

export interface Subscription {
  close(): Promise<void>;
}

/** Subscribes to AppSync Events over the realtime WebSocket (the runtime uses IAM). */
export interface EventSubscriber {
  subscribe(channel: string, onEvent: (event: unknown) => void): Promise<Subscription>;
  /** Closes the connection and every subscription on it. */
  close(): Promise<void>;
}

export interface LaunchResult {
  /** ECS task ARN or `local:<pid>`. */
  taskRef: string;
}

/** Starts and stops a user's runtime. Callers hold the TaskState lease; launchers do not check it. */
export interface RuntimeLauncher {
  launch(userId: string): Promise<LaunchResult>;
  /** False when the task is gone (stopped, crashed, never existed). */
  isAlive(taskRef: string): Promise<boolean>;
  stop(taskRef: string, reason: string): Promise<void>;
}

/** Per-user secrets (LLM API key). Values are never logged or returned by an API. */
export interface SecretStore {
  getSecret(userId: string, name: SecretName): Promise<string | undefined>;
  putSecret(userId: string, name: SecretName, value: string): Promise<void>;
  deleteSecret(userId: string, name: SecretName): Promise<void>;
  hasSecret(userId: string, name: SecretName): Promise<boolean>;
}

export interface VerifiedUser {
  sub: string;
  email?: string;
}

/** Checks a Cognito access or id token. Throws AppError("unauthenticated") on any failure. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedUser>;
}
