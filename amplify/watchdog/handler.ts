import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { z } from "zod";
import { toDocumentClient } from "../../lib/aws/dynamo-client";
import { DynamoTaskStateStore } from "../../lib/aws/dynamo-task-state-store";
import { runWatchdog, type WatchdogReport } from "./run";

/*
 * The watchdog Lambda. Its configuration arrives as the EventBridge rule's constant input
 * (see resource.ts), so the function reads no environment of its own; the AWS SDK finds the
 * region and the role's credentials the usual way.
 */

export const watchdogInputSchema = z.object({
  tableName: z.string().min(1),
  cluster: z.string().min(1),
  idleGraceMinutes: z.number().int().min(0).max(240),
});
export type WatchdogInput = z.infer<typeof watchdogInputSchema>;

let clients: { dynamo: DynamoDBClient; ecs: ECSClient } | undefined;

export async function handler(event: unknown): Promise<WatchdogReport> {
  const input = watchdogInputSchema.parse(event);
  clients ??= { dynamo: new DynamoDBClient({}), ecs: new ECSClient({}) };
  return runWatchdog({
    taskStates: new DynamoTaskStateStore({
      client: toDocumentClient(clients.dynamo),
      tableName: input.tableName,
    }),
    ecs: clients.ecs,
    cluster: input.cluster,
    limits: { idleGraceMs: input.idleGraceMinutes * 60_000 },
  });
}
