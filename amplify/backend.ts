import { fileURLToPath } from "node:url";
import { defineBackend } from "@aws-amplify/backend";
import { Stack } from "aws-cdk-lib";
import { Agent } from "./agent/resource";
import { hardenAuth } from "./auth/harden";
import { auth } from "./auth/resource";
import { parameterPrefix, readBackendId } from "./identity";
import { deployOptions } from "./options";
import { OPENCLAW_OUTPUT_KEY, type OpenclawOutput, type ServerEnv } from "./outputs";
import { parameterStatement } from "./parameters";
import { Realtime } from "./realtime/resource";
import { ServerAccess } from "./server/resource";
import { Storage } from "./storage/resource";
import { Watchdog } from "./watchdog/resource";

/** Where the chat store keeps the bodies of oversized messages, for every user. */
const MESSAGE_BODY_PREFIX = "users/*/messages/";

/*
 * Wiring only: each concern lives in its own folder and nested stack
 * (docs/adr/0003-aws-backend.md). Deploy options come from OPENCLAW_* variables (options.ts).
 */

export const backend = defineBackend({ auth });

const id = readBackendId(backend.stack);
const options = deployOptions(id.type);
const ssmPrefix = parameterPrefix(id);
const cognito = backend.auth.resources;

hardenAuth(cognito.cfnResources, { retain: options.retainData });

const storageStack = backend.createStack("storage");
const storage = new Storage(storageStack, "Storage", {
  pointInTimeRecovery: options.table.pointInTimeRecovery,
  deletionProtection: options.table.deletionProtection,
  retainData: options.retainData,
});

const realtimeStack = backend.createStack("realtime");
const realtime = new Realtime(realtimeStack, "Realtime", { userPool: cognito.userPool });

const agentStack = backend.createStack("agent");
const region = Stack.of(agentStack).region;
// Names, not secrets: the same values reach the runtime (container) and the server (hosting).
const sharedEnv = {
  APP_MODE: "aws",
  TABLE_NAME: storage.table.tableName,
  BUCKET_NAME: storage.bucket.bucketName,
  SSM_PREFIX: ssmPrefix,
  USER_POOL_ID: cognito.userPool.userPoolId,
  USER_POOL_CLIENT_ID: cognito.userPoolClient.userPoolClientId,
  EVENTS_HTTP_ENDPOINT: realtime.httpEndpoint,
  EVENTS_REALTIME_ENDPOINT: realtime.realtimeEndpoint,
} as const;
const agent = new Agent(agentStack, "Agent", {
  cpu: options.task.cpu,
  memoryMiB: options.task.memoryMiB,
  imageBuild: options.imageBuild,
  imageContext: fileURLToPath(new URL("..", import.meta.url)),
  dockerfile: "runtime/Dockerfile",
  logRetentionDays: options.logRetentionDays,
  environment: { ...sharedEnv, AWS_REGION: region },
});
const serverEnv: ServerEnv = {
  ...sharedEnv,
  ECS_CLUSTER: agent.cluster.clusterName,
  ECS_TASK_DEFINITION: agent.taskDefinition.family,
  ECS_CONTAINER_NAME: agent.containerName,
  ECS_SUBNETS: agent.subnetIds,
  ECS_SECURITY_GROUPS: agent.securityGroup.securityGroupId,
};
// lib/env.ts also validates the ECS_* names in the runtime; they are only read by the server.
agent.addRuntimeEnvironment({
  ECS_CLUSTER: serverEnv.ECS_CLUSTER,
  ECS_TASK_DEFINITION: serverEnv.ECS_TASK_DEFINITION,
  ECS_CONTAINER_NAME: serverEnv.ECS_CONTAINER_NAME,
  ECS_SUBNETS: serverEnv.ECS_SUBNETS,
  ECS_SECURITY_GROUPS: serverEnv.ECS_SECURITY_GROUPS,
});
agent.grantRuntime([
  storage.tableDataStatement(),
  ...storage.objectStatements(Agent.STATE_PREFIX),
  ...realtime.runtimeStatements(),
  parameterStatement(agentStack, ssmPrefix, "read"),
]);

const watchdogStack = backend.createStack("watchdog");
new Watchdog(watchdogStack, "Watchdog", {
  tableName: storage.table.tableName,
  tableArn: storage.table.tableArn,
  clusterArn: agent.cluster.clusterArn,
  taskArns: agent.taskArns(),
  everyMinutes: options.watchdog.everyMinutes,
  idleGraceMinutes: options.watchdog.idleGraceMinutes,
  logRetentionDays: options.logRetentionDays,
  launch: {
    taskDefinition: serverEnv.ECS_TASK_DEFINITION,
    containerName: serverEnv.ECS_CONTAINER_NAME,
    subnets: serverEnv.ECS_SUBNETS,
    securityGroups: serverEnv.ECS_SECURITY_GROUPS,
    statements: agent.launchStatements(),
  },
});

const serverStack = backend.createStack("server");
const server = new ServerAccess(serverStack, "Server", {
  statements: [
    storage.tableDataStatement(),
    // Bodies of messages too large for a table item (lib/aws/dynamo-chat-store.ts); not the OpenClaw state.
    ...storage.objectStatements(MESSAGE_BODY_PREFIX),
    ...agent.launchStatements(),
    ...realtime.serverStatements(),
    parameterStatement(serverStack, ssmPrefix, "read-write"),
  ],
});

const openclaw: OpenclawOutput = {
  version: "1",
  region: Stack.of(backend.stack).region,
  serverEnv,
  serverPolicyArn: server.policy.managedPolicyArn,
  runtimeLogGroup: agent.logGroup.logGroupName,
};
backend.addOutput({
  custom: {
    // aws-amplify's Amplify.configure(outputs) reads this to reach AppSync Events.
    events: {
      url: realtime.httpEndpoint,
      aws_region: Stack.of(realtimeStack).region,
      default_authorization_type: "AMAZON_COGNITO_USER_POOLS",
    },
    [OPENCLAW_OUTPUT_KEY]: openclaw,
  },
});

/** The nested stacks, for the synthesis tests and the cost report. */
export const stacks = {
  storage: storageStack,
  realtime: realtimeStack,
  agent: agentStack,
  watchdog: watchdogStack,
  server: serverStack,
};
