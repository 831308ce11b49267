import { ECSClient, ListTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoClient, toDocumentClient } from "../lib/aws/dynamo-client";
import { DynamoTaskStateStore } from "../lib/aws/dynamo-task-state-store";
import type { AwsCredentialsProvider } from "../lib/aws/sigv4";
import {
  defaultIo,
  type Io,
  loadOutputs,
  parseOptions,
  region,
  resolveUserSub,
  runIfMain,
  serverEnv,
  str,
  UsageError,
} from "./common";

const HELP = `Usage: npx tsx ops/stop-runtime.ts (--email <address> | --sub <id> | --all) [--outputs <file>]

Stops a user's agent runtime (the Fargate task) now, instead of waiting for its idle
timeout. The runtime gets SIGTERM and saves OpenClaw's state before it exits; the next
message starts a new one. --all stops every runtime task of the app's cluster.

Uses your AWS credentials; needs dynamodb:GetItem on the table and ecs:StopTask
(ecs:ListTasks for --all) on the cluster.`;

export interface StopDeps {
  ecs?: ECSClient;
  dynamo?: DynamoDBDocumentClient;
  cognitoEndpoint?: string;
  credentials?: AwsCredentialsProvider;
}

export async function main(argv: string[], io: Io = defaultIo, deps: StopDeps = {}): Promise<number> {
  const opts = parseOptions(
    argv,
    { email: { type: "string" }, sub: { type: "string" }, all: { type: "boolean" } },
    HELP,
    io,
  );
  if (!opts) return 0;
  const outputs = loadOutputs(opts.values.outputs);
  const env = serverEnv(outputs);
  const ecs = deps.ecs ?? new ECSClient({ region: region(outputs) });
  const reason = "stopped by ops/stop-runtime.ts";

  if (opts.values.all) {
    const tasks: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(
        new ListTasksCommand({ cluster: env.ECS_CLUSTER, desiredStatus: "RUNNING", nextToken }),
      );
      tasks.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    for (const task of tasks) await ecs.send(new StopTaskCommand({ cluster: env.ECS_CLUSTER, task, reason }));
    io.out(`Stopped ${tasks.length} runtime task(s).`);
    return 0;
  }

  const email = str(opts.values.email);
  if (!email && !str(opts.values.sub)) throw new UsageError("give --email, --sub or --all");
  const sub = await resolveUserSub(
    {
      region: region(outputs),
      endpoint: deps.cognitoEndpoint,
      credentials: deps.credentials,
      userPoolId: env.USER_POOL_ID,
    },
    { email, sub: str(opts.values.sub) },
  );
  const dynamo = deps.dynamo ?? toDocumentClient(createDynamoClient({ region: region(outputs) }));
  const row = await new DynamoTaskStateStore({ client: dynamo, tableName: env.TABLE_NAME }).get(sub);
  if (row.status === "Idle" || !row.taskRef) {
    io.out(`No runtime is running for ${email ?? sub} (status ${row.status}).`);
    return 0;
  }
  await ecs.send(new StopTaskCommand({ cluster: env.ECS_CLUSTER, task: row.taskRef, reason }));
  io.out(`Stopping ${row.taskRef.split("/").pop()} (${email ?? sub}); it saves its state before it exits.`);
  return 0;
}

runIfMain(import.meta.url, main);
