import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
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

const HELP = `Usage: npx tsx ops/tail-logs.ts [--email <address> | --sub <id>] [--since <15m|2h|1d>] [--follow]

Prints the agent runtimes' logs (CloudWatch log group in amplify_outputs.json). With a
user, only the streams of that user's current task (or lines that mention the user).

  --since <n>{m,h,d}   how far back to start (default 15m)
  --follow             keep polling for new lines until Ctrl-C

Uses your AWS credentials; needs logs:FilterLogEvents on the log group.`;

export interface TailDeps {
  logs?: CloudWatchLogsClient;
  dynamo?: DynamoDBDocumentClient;
  cognitoEndpoint?: string;
  credentials?: AwsCredentialsProvider;
  /** Ends --follow (tests); Ctrl-C otherwise. */
  signal?: AbortSignal;
  pollMs?: number;
  now?: () => number;
}

export function parseSince(value: string): number {
  const m = /^(\d+)([mhd])$/.exec(value);
  if (!m) throw new UsageError("--since takes minutes, hours or days: 15m, 2h, 1d");
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** The awslogs stream of a task: `<streamPrefix>/<container>/<task id>`. */
export function streamPrefixOf(taskArn: string): string {
  return `runtime/runtime/${taskArn.split("/").pop()}`;
}

export async function main(argv: string[], io: Io = defaultIo, deps: TailDeps = {}): Promise<number> {
  const opts = parseOptions(
    argv,
    {
      email: { type: "string" },
      sub: { type: "string" },
      since: { type: "string" },
      follow: { type: "boolean" },
    },
    HELP,
    io,
  );
  if (!opts) return 0;
  const outputs = loadOutputs(opts.values.outputs);
  const env = serverEnv(outputs);
  const now = deps.now ?? Date.now;
  let startTime = now() - parseSince(str(opts.values.since) ?? "15m");
  const logs = deps.logs ?? new CloudWatchLogsClient({ region: region(outputs) });

  let logStreamNamePrefix: string | undefined;
  let filterPattern: string | undefined;
  if (opts.values.email || opts.values.sub) {
    const sub = await resolveUserSub(
      {
        region: region(outputs),
        endpoint: deps.cognitoEndpoint,
        credentials: deps.credentials,
        userPoolId: env.USER_POOL_ID,
      },
      { email: str(opts.values.email), sub: str(opts.values.sub) },
    );
    const dynamo = deps.dynamo ?? toDocumentClient(createDynamoClient({ region: region(outputs) }));
    const row = await new DynamoTaskStateStore({ client: dynamo, tableName: env.TABLE_NAME }).get(sub);
    if (row.taskRef?.startsWith("arn:")) logStreamNamePrefix = streamPrefixOf(row.taskRef);
    else filterPattern = `"${sub}"`;
  }

  const seen = new Set<string>();
  for (;;) {
    let nextToken: string | undefined;
    let latest = startTime;
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: outputs.custom.openclaw.runtimeLogGroup,
          startTime,
          logStreamNamePrefix,
          filterPattern,
          nextToken,
        }),
      );
      for (const e of page.events ?? []) {
        if (!e.eventId || seen.has(e.eventId)) continue;
        seen.add(e.eventId);
        latest = Math.max(latest, e.timestamp ?? latest);
        io.out(
          `${new Date(e.timestamp ?? 0).toISOString()} ${e.logStreamName?.split("/").pop()?.slice(0, 8) ?? ""} ${(e.message ?? "").trimEnd()}`,
        );
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (!opts.values.follow || deps.signal?.aborted) return 0;
    startTime = latest;
    await new Promise((r) => setTimeout(r, deps.pollMs ?? 2_000));
    if (deps.signal?.aborted) return 0;
  }
}

runIfMain(import.meta.url, main);
