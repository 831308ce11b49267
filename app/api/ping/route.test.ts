import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { events } from "aws-amplify/data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureAmplify } from "@/lib/client/amplify";
import { getAccessToken, getSignedInUser, signInWithEmail, signOutUser } from "@/lib/client/auth";
import { publicConfigSchema } from "@/lib/client/public-config";
import { subscribeToChannel } from "@/lib/client/realtime";
import { type ChatEvent, statusChannel } from "@/lib/contracts";
import { type LocalCloud, startLocalCloud } from "@/lib/local/cloud";

let dir: string;
let cloud: LocalCloud;
let ping: (req: Request) => Promise<Response>;
let config: (req: Request) => Promise<Response>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ping-test-"));
  cloud = await startLocalCloud({ stateDir: dir, ports: { dynamodb: 0, events: 0, cognito: 0 } });
  process.env.LOCAL_CLOUD_FILE = cloud.file;
  ping = (await import("./route")).POST;
  config = (await import("../config/route")).GET;
});

afterAll(async () => {
  await signOutUser().catch(() => undefined);
  await events.closeAll().catch(() => undefined);
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the signed-in loop: config → sign-in → subscribe → POST /api/ping → event", () => {
  it("serves only public configuration", async () => {
    const res = await config(new Request("http://localhost/api/config"));
    expect(res.status).toBe(200);
    const text = await res.text();
    const parsed = publicConfigSchema.parse(JSON.parse(text));
    expect(parsed).toMatchObject({
      mode: "local",
      auth: {
        userPoolId: cloud.info.cognito.userPoolId,
        userPoolClientId: cloud.info.cognito.clientId,
        userPoolEndpoint: cloud.info.cognito.endpoint,
        authFlowType: "USER_PASSWORD_AUTH",
      },
      events: { endpoint: cloud.info.events.httpEndpoint },
    });
    for (const secret of [
      cloud.info.credentials.secretAccessKey,
      cloud.info.credentials.accessKeyId,
      cloud.info.events.apiKey,
    ])
      expect(text).not.toContain(secret);
  });

  it("delivers the event the route publishes to the user's own status channel", async () => {
    const res = await config(new Request("http://localhost/api/config"));
    configureAmplify(publicConfigSchema.parse(await res.json()));
    expect(await signInWithEmail(cloud.firstUser.email, cloud.firstUser.password)).toEqual({
      status: "signed-in",
    });
    const user = await getSignedInUser();
    expect(user?.email).toBe(cloud.firstUser.email);
    const sub = user?.sub ?? "";

    const received: ChatEvent[] = [];
    let gotOne: () => void = () => undefined;
    const arrived = new Promise<void>((done) => {
      gotOne = done;
    });
    const subscription = await subscribeToChannel(statusChannel(sub), {
      onEvent: (e) => {
        received.push(e);
        gotOne();
      },
    });
    await subscription.ready;

    const token = await getAccessToken();
    const pinged = await ping(
      new Request("http://localhost/api/ping", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(pinged.status).toBe(202);
    const { channel, event } = await pinged.json();
    expect(channel).toBe(statusChannel(sub));
    await arrived;
    expect(received).toEqual([event]);
    expect(event).toMatchObject({ type: "status", state: "asleep" });
    await subscription.close();
  });

  it("does not let a user subscribe to someone else's status channel", async () => {
    const subscription = await subscribeToChannel(statusChannel("someone-else"), {
      onEvent: () => undefined,
    });
    await expect(subscription.ready).rejects.toBeDefined();
    await subscription.close();
  });

  it("rejects a ping without a token", async () => {
    const res = await ping(new Request("http://localhost/api/ping", { method: "POST" }));
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("unauthenticated");
  });
});
