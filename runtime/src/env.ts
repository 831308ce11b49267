import { hostname, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { userIdSchema } from "../../lib/contracts";
import { type AppConfig, loadConfig } from "../../lib/env";
import { formatIssues } from "../../lib/errors";

/*
 * The runtime's own environment: who it serves, where OpenClaw's state lives, and the
 * timings that tests shorten. The shared configuration (tables, buckets, endpoints) comes
 * from lib/env.ts, the one other reader of process.env.
 */

const seconds = (fallback: number, min = 1) => z.coerce.number().min(min).default(fallback);

const runtimeEnvSchema = z.object({
  RUNTIME_USER_ID: userIdSchema,
  /** Where OpenClaw's state is restored to; wiped on start (the blob store is the durable copy). */
  RUNTIME_STATE_DIR: z
    .string()
    .refine((p) => isAbsolute(p), "must be an absolute path")
    .optional(),
  /** Identifies this process in queue claims; unique per start. */
  RUNTIME_WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/)
    .optional(),
  /** Set by ECS on every task: the runtime reads its own task ARN from it. */
  ECS_CONTAINER_METADATA_URI_V4: z.string().url().optional(),
  RUNTIME_POLL_SECONDS: seconds(30),
  /** Default: the lease's beat (lib/contracts/task-lease.ts). */
  RUNTIME_HEARTBEAT_SECONDS: z.coerce.number().min(1).optional(),
  RUNTIME_LEASE_SECONDS: seconds(60, 3),
  RUNTIME_SYNC_SECONDS: seconds(300),
  /** Overrides the idle timeout from the user's settings (whole minutes there). */
  RUNTIME_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(1).optional(),
  /** Total budget for a graceful stop (SIGTERM, idle, shutdown request). */
  RUNTIME_SHUTDOWN_SECONDS: seconds(25, 5),
  RUNTIME_MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).max(16).default(3),
  RUNTIME_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Touched every few seconds while the runtime is healthy (the image's HEALTHCHECK reads it). */
  RUNTIME_HEALTH_FILE: z
    .string()
    .refine((p) => isAbsolute(p), "must be an absolute path")
    .optional(),
  /** Node's compile cache, passed on to OpenClaw (the image bakes a warm one). */
  NODE_COMPILE_CACHE: z.string().optional(),
});

export interface RuntimeEnv {
  userId: string;
  stateDir: string;
  workerId: string;
  ecsMetadataUri?: string;
  pollMs: number;
  heartbeatMs?: number;
  leaseMs: number;
  syncMs: number;
  idleTimeoutMs?: number;
  shutdownMs: number;
  maxConcurrentRuns: number;
  logLevel: "debug" | "info" | "warn" | "error";
  healthFile: string;
  compileCacheDir?: string;
  config: AppConfig;
}

/** Parses the environment; throws an Error with a one-line message naming what is wrong. */
export function loadRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  const parsed = runtimeEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid runtime environment: ${formatIssues(parsed.error)}`);
  }
  const e = parsed.data;
  const config = loadConfig(env);
  const random = Math.random().toString(36).slice(2, 8);
  return {
    userId: e.RUNTIME_USER_ID,
    stateDir: e.RUNTIME_STATE_DIR ?? join(tmpdir(), "openclaw-runtime", e.RUNTIME_USER_ID),
    workerId: e.RUNTIME_WORKER_ID ?? `${hostname().slice(0, 40)}-${process.pid}-${random}`,
    ecsMetadataUri: e.ECS_CONTAINER_METADATA_URI_V4,
    pollMs: e.RUNTIME_POLL_SECONDS * 1000,
    heartbeatMs: e.RUNTIME_HEARTBEAT_SECONDS === undefined ? undefined : e.RUNTIME_HEARTBEAT_SECONDS * 1000,
    leaseMs: e.RUNTIME_LEASE_SECONDS * 1000,
    syncMs: e.RUNTIME_SYNC_SECONDS * 1000,
    idleTimeoutMs:
      e.RUNTIME_IDLE_TIMEOUT_SECONDS === undefined ? undefined : e.RUNTIME_IDLE_TIMEOUT_SECONDS * 1000,
    shutdownMs: e.RUNTIME_SHUTDOWN_SECONDS * 1000,
    maxConcurrentRuns: e.RUNTIME_MAX_CONCURRENT_RUNS,
    logLevel: e.RUNTIME_LOG_LEVEL,
    healthFile: e.RUNTIME_HEALTH_FILE ?? join(tmpdir(), "openclaw-runtime.health"),
    compileCacheDir: e.NODE_COMPILE_CACHE,
    config,
  };
}
