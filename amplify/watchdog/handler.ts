import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { z } from "zod";
import { toDocumentClient } from "../../lib/aws/dynamo-client";
import { DynamoPendingQueue } from "../../lib/aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "../../lib/aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "../../lib/aws/dynamo-task-state-store";
import { EcsRuntimeLauncher } from "../../lib/aws/ecs-runtime-launcher";
import type { EventPublisher } from "../../lib/ports";
import { ensureRuntime } from "../../lib/services/ensure-runtime";
import { runWatchdog, type WatchdogReport } from "./run";

/*
 * The watchdog Lambda. Its configuration arrives as the EventBridge rule's constant input
 * (see resource.ts), so the function reads no environment of its own; the AWS SDK finds the
 * region and the role's credentials the usual way.
 */

/** Comma-separated ids (subnets, security groups), as the deploy resolves them. */
const idList = z
  .string()
  .min(1)
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));

export const watchdogInputSchema = z.object({
  tableName: z.string().min(1),
  cluster: z.string().min(1),
  idleGraceMinutes: z.number().int().min(0).max(240),
  /** How to start a runtime for queued work (the same task the server launches). */
  launch: z.object({
    taskDefinition: z.string().min(1),
    containerName: z.string().min(1),
    subnets: idList,
    securityGroups: idList,
  }),
});
export type WatchdogInput = z.input<typeof watchdogInputSchema>;

/**
 * The watchdog publishes nothing: a runtime it starts announces its own start-up stages, and
 * drains its queue when it is ready, so neither the `waking` status nor the wake-up is needed.
 */
const SILENT: EventPublisher = { publish: async () => undefined };

let clients: { dynamo: DynamoDBClient; ecs: ECSClient } | undefined;

export async function handler(event: unknown): Promise<WatchdogReport> {
  const input = watchdogInputSchema.parse(event);
  clients ??= { dynamo: new DynamoDBClient({}), ecs: new ECSClient({}) };
  const store = { client: toDocumentClient(clients.dynamo), tableName: input.tableName };
  const taskStates = new DynamoTaskStateStore(store);
  const limits = { idleGraceMs: input.idleGraceMinutes * 60_000 };
  const ports = {
    taskStates,
    settingsStore: new DynamoSettingsStore(store),
    publisher: SILENT,
    launcher: new EcsRuntimeLauncher({ client: clients.ecs, cluster: input.cluster, ...input.launch }),
  };
  return runWatchdog({
    taskStates,
    queue: new DynamoPendingQueue(store),
    launch: (userId) => ensureRuntime(ports, userId, { lease: limits, warn: (m) => console.warn(m) }),
    ecs: clients.ecs,
    cluster: input.cluster,
    limits,
  });
}
