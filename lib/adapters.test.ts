import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapters } from "./adapters";
import { AppSyncEventsPublisher } from "./aws/appsync-events-publisher";
import { DynamoChatStore } from "./aws/dynamo-chat-store";
import { EcsRuntimeLauncher } from "./aws/ecs-runtime-launcher";
import { S3BlobStore } from "./aws/s3-blob-store";
import { SsmSecretStore } from "./aws/ssm-secret-store";
import { newId, nowIso } from "./contracts";
import { configFromLocalCloud, loadConfig } from "./env";
import { FileSecretStore } from "./local/file-secret-store";
import { FsBlobStore } from "./local/fs-blob-store";
import { ProcessRuntimeLauncher } from "./local/process-launcher";
import { type LocalCloud, startLocalCloud } from "./local-cloud/cloud";

let dir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "container-test-"));
  cloud = await startLocalCloud({ stateDir: dir, ports: { dynamodb: 0, events: 0, cognito: 0 } });
});
afterAll(async () => {
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("createAdapters", () => {
  it("picks the local adapters in local mode, and they work against the local cloud", async () => {
    const c = createAdapters(configFromLocalCloud(cloud.info, cloud.file));
    expect(c.chatStore).toBeInstanceOf(DynamoChatStore);
    expect(c.chatStore).toBe(c.chatStore); // memoized
    expect(c.blobs).toBeInstanceOf(FsBlobStore);
    expect(c.secrets).toBeInstanceOf(FileSecretStore);
    expect(c.publisher).toBeInstanceOf(AppSyncEventsPublisher);
    expect(c.launcher).toBeInstanceOf(ProcessRuntimeLauncher);

    const user = "11111111-2222-4333-8444-555555555555";
    const conv = { id: newId(), title: "t", createdAt: nowIso(), updatedAt: nowIso() };
    await c.chatStore.createConversation(user, conv);
    expect(await c.chatStore.getConversation(user, conv.id)).toEqual(conv);
    await c.blobs.put("state/x.bin", new Uint8Array([1, 2, 3]));
    expect(Array.from((await c.blobs.get("state/x.bin")) ?? [])).toEqual([1, 2, 3]);
    await c.secrets.putSecret(user, "llm-api-key", "sk-test");
    expect(await c.secrets.hasSecret(user, "llm-api-key")).toBe(true);
    // The local IAM credentials sign publishes the emulator accepts.
    await c.publisher.publish(`/agent/${user}`, [{ type: "wake", at: nowIso() }]);
    await expect(c.verifier.verify("not-a-token")).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("picks the AWS adapters in AWS mode, and the real Cognito issuer", () => {
    const config = loadConfig({
      APP_MODE: "aws",
      AWS_REGION: "eu-west-1",
      TABLE_NAME: "t",
      BUCKET_NAME: "b",
      SSM_PREFIX: "/openclaw",
      USER_POOL_ID: "eu-west-1_abc",
      USER_POOL_CLIENT_ID: "client",
      EVENTS_HTTP_ENDPOINT: "https://x.appsync-api.eu-west-1.amazonaws.com/event",
      EVENTS_REALTIME_ENDPOINT: "wss://x.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
      ECS_CLUSTER: "c",
      ECS_TASK_DEFINITION: "td",
      ECS_SUBNETS: "subnet-1",
      ECS_SECURITY_GROUPS: "sg-1",
      NODE_ENV: "production",
    });
    const c = createAdapters(config);
    expect(c.blobs).toBeInstanceOf(S3BlobStore);
    expect(c.secrets).toBeInstanceOf(SsmSecretStore);
    expect(c.launcher).toBeInstanceOf(EcsRuntimeLauncher);
    expect((c.verifier as unknown as { issuer: string }).issuer).toBe(
      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    );
  });
});
