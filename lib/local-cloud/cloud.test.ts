import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoClient } from "../aws/dynamo-client";
import { readLocalCloudInfo } from "../env";
import { type LocalCloud, startLocalCloud } from "./cloud";

const ephemeral = { dynamodb: 0, events: 0, cognito: 0 };
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "cloud-test-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function signIn(cloud: LocalCloud): Promise<string> {
  const res = await fetch(cloud.info.cognito.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: cloud.info.cognito.clientId,
      AuthParameters: { USERNAME: cloud.firstUser.email, PASSWORD: cloud.firstUser.password },
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { AuthenticationResult: { AccessToken: string } }).AuthenticationResult
    .AccessToken;
}

describe("startLocalCloud", () => {
  it("writes a valid cloud.json (0600), and a restart keeps the data, the pool and the credentials", async () => {
    const stateDir = join(root, "persist");
    const first = await startLocalCloud({ stateDir, ports: ephemeral });
    let key: { pk: { S: string }; sk: { S: string } };
    try {
      expect(first.firstStart).toBe(true);
      expect(first.file).toBe(join(stateDir, "cloud.json"));
      expect(statSync(first.file).mode & 0o777).toBe(0o600);
      const info = readLocalCloudInfo(first.file);
      expect(info).toEqual(first.info);
      expect(info.dynamodb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.events.realtimeEndpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/event\/realtime$/);
      for (const d of ["blobs", "secrets"] as const) expect(statSync(info[d].dir).isDirectory()).toBe(true);

      // Every service answers: a user signs in, DynamoDB stores an item.
      expect(await signIn(first)).toMatch(/^ey/);
      const db = createDynamoClient({
        endpoint: info.dynamodb.endpoint,
        region: info.region,
        credentials: info.credentials,
      });
      key = { pk: { S: "TEST#restart" }, sk: { S: "ITEM" } };
      await db.send(
        new PutItemCommand({ TableName: info.dynamodb.tableName, Item: { ...key, v: { S: "kept" } } }),
      );
      db.destroy();
    } finally {
      await first.close();
    }

    const second = await startLocalCloud({ stateDir, ports: ephemeral });
    try {
      expect(second.firstStart).toBe(false);
      expect(second.firstUser).toEqual(first.firstUser);
      expect(second.info.cognito.userPoolId).toBe(first.info.cognito.userPoolId);
      expect(second.info.cognito.clientId).toBe(first.info.cognito.clientId);
      expect(second.info.credentials).toEqual(first.info.credentials);
      expect(second.info.events.apiKey).toBe(first.info.events.apiKey);
      expect(await signIn(second)).toMatch(/^ey/);
      const db = createDynamoClient({
        endpoint: second.info.dynamodb.endpoint,
        region: second.info.region,
        credentials: second.info.credentials,
      });
      const got = await db.send(new GetItemCommand({ TableName: second.info.dynamodb.tableName, Key: key }));
      db.destroy();
      expect(got.Item?.v?.S).toBe("kept");
    } finally {
      await second.close();
    }
  });

  it("fails with a clear error naming the port when one is taken, and leaves nothing running", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, "127.0.0.1", done));
    const port = (blocker.address() as AddressInfo).port;
    try {
      for (const service of ["cognito", "events", "dynamodb"] as const) {
        const stateDir = join(root, `taken-${service}`);
        const err = await startLocalCloud({ stateDir, ports: { ...ephemeral, [service]: port } }).then(
          (cloud) => cloud.close().then(() => undefined),
          (e: unknown) => e as Error,
        );
        expect(err, service).toBeInstanceOf(Error);
        expect(String((err as Error).message)).toContain(String(port));
        expect(String((err as Error).message)).toMatch(/in use/);
        // Everything started before the failure was stopped: the same folder starts cleanly.
        const ok = await startLocalCloud({ stateDir, ports: ephemeral });
        await ok.close();
      }
    } finally {
      await new Promise((done) => blocker.close(done));
    }
  });

  it("--reset wipes the state, and refuses a folder that is not a local cloud's", async () => {
    const stateDir = join(root, "reset");
    const a = await startLocalCloud({ stateDir, ports: ephemeral });
    await a.close();
    const b = await startLocalCloud({ stateDir, ports: ephemeral, reset: true });
    await b.close();
    expect(b.firstStart).toBe(true);
    expect(b.info.cognito.userPoolId).not.toBe(a.info.cognito.userPoolId);
    expect(b.firstUser.password).not.toBe(a.firstUser.password);

    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "precious.txt"), "keep me");
    await expect(startLocalCloud({ stateDir: foreign, ports: ephemeral, reset: true })).rejects.toThrow(
      /refusing to reset/,
    );
    expect(readFileSync(join(foreign, "precious.txt"), "utf8")).toBe("keep me");
  });
});
