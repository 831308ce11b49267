import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { formatIssues } from "./errors";

/*
 * The only reader of process.env. Everything else receives an AppConfig.
 *
 * Local mode (APP_MODE unset or "local"): the endpoints and credentials of the embedded
 * local cloud come from one JSON file written by `npm run dev` (LocalCloudInfo below),
 * at LOCAL_CLOUD_FILE or `.local/cloud.json`.
 * AWS mode (APP_MODE=aws): names and ARNs come from environment variables set by the
 * Amplify backend (task definition overrides for the runtime, `.env.production` for the
 * SSR function). Credentials come from the default AWS provider chain, never from here.
 */

const url = z.string().url();

/** The documented file `npm run dev` writes to `.local/cloud.json`; tests and tools read it. */
export const localCloudInfoSchema = z.object({
  version: z.literal(1),
  region: z.string(),
  /** The local IAM identity used by the server and the runtime (SigV4 to events and DynamoDB). */
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  dynamodb: z.object({ endpoint: url, tableName: z.string() }),
  blobs: z.object({ dir: z.string() }),
  secrets: z.object({ dir: z.string() }),
  cognito: z.object({
    /** What aws-amplify gets as `userPoolEndpoint` (the refresh-token proxy in front of cognito-local). */
    endpoint: url,
    userPoolId: z.string(),
    clientId: z.string(),
    issuer: url,
    jwksUri: url,
  }),
  events: z.object({
    /** `http://127.0.0.1:PORT/event` */
    httpEndpoint: url,
    /** `ws://127.0.0.1:PORT/event/realtime` */
    realtimeEndpoint: z.string(),
    apiKey: z.string(),
  }),
  /** Where the Next.js dev server listens. */
  appUrl: url,
  /** The local state folder (absolute). */
  stateDir: z.string(),
});
export type LocalCloudInfo = z.infer<typeof localCloudInfoSchema>;

export type BlobConfig = { kind: "fs"; dir: string } | { kind: "s3"; bucket: string; endpoint?: string };
export type SecretsConfig = { kind: "file"; dir: string } | { kind: "ssm"; prefix: string };
export type RuntimeLaunchConfig =
  | { kind: "process"; stateDir: string }
  | {
      kind: "ecs";
      cluster: string;
      taskDefinition: string;
      containerName: string;
      subnets: string[];
      securityGroups: string[];
    };

export interface AppConfig {
  mode: "local" | "aws";
  region: string;
  /** Only in local mode: static credentials of the local cloud. In AWS the provider chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  dynamodb: { tableName: string; endpoint?: string };
  blobs: BlobConfig;
  secrets: SecretsConfig;
  auth: { userPoolId: string; clientId: string; issuer: string; jwksUri: string; endpoint?: string };
  events: { httpEndpoint: string; realtimeEndpoint: string };
  runtime: RuntimeLaunchConfig;
  /** Path of the local cloud file, in local mode (handed to the local runtime). */
  localCloudFile?: string;
}

const awsEnvSchema = z.object({
  APP_MODE: z.literal("aws"),
  AWS_REGION: z.string().min(1),
  TABLE_NAME: z.string().min(1),
  BUCKET_NAME: z.string().min(1),
  SSM_PREFIX: z.string().startsWith("/"),
  USER_POOL_ID: z.string().min(1),
  USER_POOL_CLIENT_ID: z.string().min(1),
  EVENTS_HTTP_ENDPOINT: url,
  EVENTS_REALTIME_ENDPOINT: z.string().min(1),
  ECS_CLUSTER: z.string().min(1),
  ECS_TASK_DEFINITION: z.string().min(1),
  ECS_CONTAINER_NAME: z.string().min(1).default("runtime"),
  ECS_SUBNETS: z.string().min(1),
  ECS_SECURITY_GROUPS: z.string().min(1),
});

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Reads and validates the local cloud file. Throws with a message saying to run `npm run dev`. */
export function readLocalCloudInfo(file: string): LocalCloudInfo {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    throw new Error(`local cloud file ${file} not found: start the local cloud with \`npm run dev\``);
  }
  const parsed = localCloudInfoSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`local cloud file ${file} is invalid: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

export function configFromLocalCloud(info: LocalCloudInfo, file: string): AppConfig {
  return {
    mode: "local",
    region: info.region,
    credentials: info.credentials,
    dynamodb: { tableName: info.dynamodb.tableName, endpoint: info.dynamodb.endpoint },
    blobs: { kind: "fs", dir: info.blobs.dir },
    secrets: { kind: "file", dir: info.secrets.dir },
    auth: {
      userPoolId: info.cognito.userPoolId,
      clientId: info.cognito.clientId,
      issuer: info.cognito.issuer,
      jwksUri: info.cognito.jwksUri,
      endpoint: info.cognito.endpoint,
    },
    events: { httpEndpoint: info.events.httpEndpoint, realtimeEndpoint: info.events.realtimeEndpoint },
    runtime: { kind: "process", stateDir: info.stateDir },
    localCloudFile: file,
  };
}

/** Builds the validated configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const mode = env.APP_MODE ?? "local";
  if (mode === "local") {
    const file = resolve(env.LOCAL_CLOUD_FILE ?? ".local/cloud.json");
    return configFromLocalCloud(readLocalCloudInfo(file), file);
  }
  const parsed = awsEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid AWS configuration: ${formatIssues(parsed.error)}`);
  const e = parsed.data;
  return {
    mode: "aws",
    region: e.AWS_REGION,
    dynamodb: { tableName: e.TABLE_NAME },
    blobs: { kind: "s3", bucket: e.BUCKET_NAME },
    secrets: { kind: "ssm", prefix: e.SSM_PREFIX },
    auth: {
      userPoolId: e.USER_POOL_ID,
      clientId: e.USER_POOL_CLIENT_ID,
      issuer: `https://cognito-idp.${e.AWS_REGION}.amazonaws.com/${e.USER_POOL_ID}`,
      jwksUri: `https://cognito-idp.${e.AWS_REGION}.amazonaws.com/${e.USER_POOL_ID}/.well-known/jwks.json`,
    },
    events: { httpEndpoint: e.EVENTS_HTTP_ENDPOINT, realtimeEndpoint: e.EVENTS_REALTIME_ENDPOINT },
    runtime: {
      kind: "ecs",
      cluster: e.ECS_CLUSTER,
      taskDefinition: e.ECS_TASK_DEFINITION,
      containerName: e.ECS_CONTAINER_NAME,
      subnets: list(e.ECS_SUBNETS),
      securityGroups: list(e.ECS_SECURITY_GROUPS),
    },
  };
}

let cached: AppConfig | undefined;

/** The process-wide configuration, read once. */
export function getConfig(): AppConfig {
  cached ??= loadConfig();
  return cached;
}
