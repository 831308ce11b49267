import { LEASE } from "../../../lib/contracts";
import type {
  BlobStore,
  ChatStore,
  EventPublisher,
  EventSubscriber,
  PendingQueue,
  SecretStore,
  SettingsStore,
  TaskStateStore,
} from "../../../lib/ports";
import type { AgentEngine, EngineSettings } from "../engine";
import type { Logger } from "./log";

/** What the runner uses of the adapters, by the names lib's Adapters give them. */
export interface RunnerPorts {
  chatStore: ChatStore;
  settingsStore: SettingsStore;
  taskStates: TaskStateStore;
  queue: PendingQueue;
  blobs: BlobStore;
  secrets: SecretStore;
  publisher: EventPublisher;
  subscriber: EventSubscriber;
}

export interface RunnerOptions {
  userId: string;
  /** Identifies this process in queue claims. */
  workerId: string;
  /** `local:<pid>` or the ECS task ARN, when known. */
  taskRef?: string;
  /** OpenClaw's state folder, restored from and synced to the blob store. */
  stateDir: string;
  /** Scratch folder for SQLite snapshots (outside stateDir). */
  scratchDir: string;
  /** Builds the engine once settings are known (the engine owns OpenClaw's config file). */
  createEngine: (settings: EngineSettings) => AgentEngine;
  log: Logger;
  /** Safety poll of the queue when no wake-up arrives. Default 30 s. */
  pollMs?: number;
  /** Default: the lease's (LEASE.heartbeatMs). */
  heartbeatMs?: number;
  /** Queue claim lease, renewed every third of it during a run. Default 60 s. */
  leaseMs?: number;
  /** Periodic state upload while there was activity. Default 5 min. */
  syncMs?: number;
  /** Overrides the idle timeout from the user's settings. */
  idleTimeoutMs?: number;
  /** Budget of a graceful stop. Default 25 s. */
  shutdownMs?: number;
  maxConcurrentRuns?: number;
  /** A message whose run crashed the runtime this many times gets an error reply instead. */
  maxAttempts?: number;
  flushMs?: number;
  /**
   * How long a turn whose outcome is decided keeps retrying a failing store (the reply, the
   * item's completion) before it gives up and the turn counts as crashed. Default 2 min.
   */
  storeRetryMs?: number;
  /** How long a start waits for a previous runtime that is still Stopping. Default: the lease's. */
  stoppingWaitMs?: number;
  /**
   * While no run is active, a prepare-only warm-up turn (no model call) this long after the
   * engine was last used. OpenClaw retires several worker threads after 60 s idle, and the
   * next turn then pays several seconds to start them again. Default 45 s; 0 turns it off.
   * Keeping warm is not activity: it does not delay the idle stop.
   */
  keepWarmMs?: number;
}

type Defaulted =
  | "pollMs"
  | "heartbeatMs"
  | "leaseMs"
  | "syncMs"
  | "shutdownMs"
  | "maxConcurrentRuns"
  | "maxAttempts"
  | "flushMs"
  | "storeRetryMs"
  | "stoppingWaitMs"
  | "keepWarmMs";

/** The options with every default filled in. */
export type ResolvedOptions = RunnerOptions & Required<Pick<RunnerOptions, Defaulted>>;

export function resolveOptions(opts: RunnerOptions): ResolvedOptions {
  return {
    ...opts,
    pollMs: opts.pollMs ?? 30_000,
    heartbeatMs: opts.heartbeatMs ?? LEASE.heartbeatMs,
    leaseMs: opts.leaseMs ?? 60_000,
    syncMs: opts.syncMs ?? 300_000,
    shutdownMs: opts.shutdownMs ?? 25_000,
    maxConcurrentRuns: opts.maxConcurrentRuns ?? 3,
    maxAttempts: opts.maxAttempts ?? 3,
    flushMs: opts.flushMs ?? 80,
    storeRetryMs: opts.storeRetryMs ?? 120_000,
    stoppingWaitMs: opts.stoppingWaitMs ?? LEASE.stoppingWaitMs,
    keepWarmMs: opts.keepWarmMs ?? 45_000,
  };
}

export interface StopResult {
  reason: string;
  exitCode: number;
}

/** Start-up milestones in ms since start() (logged when the runtime is ready). */
export type StartTimings = Record<string, number>;
