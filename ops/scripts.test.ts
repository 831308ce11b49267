import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { ECSClient, StopTaskCommand } from "@aws-sdk/client-ecs";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AmplifyOutputs } from "../amplify/outputs";
import { DynamoTaskStateStore } from "../lib/aws/dynamo-task-state-store";
import { ensureLocalAuth, type LocalCognito, startLocalCognito } from "../lib/local-cloud/cognito";
import { startTestDynamo } from "../lib/testing/dynamo-test-server";
import * as appUrl from "./app-url";
import type { Io } from "./common";
import * as invite from "./invite-user";
import * as register from "./register-webhook";
import * as sandboxEnv from "./sandbox-env";
import * as setSecret from "./set-secret";
import * as stop from "./stop-runtime";
import * as tail from "./tail-logs";

/*
 * The ops scripts as functions: Cognito calls go to cognito-local, task rows to dynalite,
 * Telegram to a local Bot API stand-in, all over real sockets on 127.0.0.1. SSM, ECS,
 * CloudFormation and CloudWatch Logs have no local stand-in and are mocked.
 */

const dynamo = startTestDynamo();
const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);
const cfn = mockClient(CloudFormationClient);
const logs = mockClient(CloudWatchLogsClient);
afterEach(() => {
  ssm.reset();
  ecs.reset();
  cfn.reset();
  logs.reset();
});

const credentials = async () => ({ accessKeyId: "local", secretAccessKey: "local-secret" });
const TOKEN = "1234567:test-bot-token-not-real-0123456789abcd";
const SUB = "3f1c2a9e-0000-4000-8000-000000000001";

let dir: string;
let cognito: LocalCognito;
let userPoolId: string;
let outputsFile: string;

function io(secret = ""): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
    readSecret: async () => secret,
  };
}

function writeOutputs(): string {
  const outputs: AmplifyOutputs = {
    custom: {
      events: { url: "https://x.appsync-api.eu-west-1.amazonaws.com/event", aws_region: "eu-west-1" },
      openclaw: {
        version: "1",
        region: "eu-west-1",
        serverEnv: {
          APP_MODE: "aws",
          TABLE_NAME: dynamo.tableName,
          BUCKET_NAME: "b",
          SSM_PREFIX: "/serverless-openclaw/app/backend",
          USER_POOL_ID: userPoolId,
          USER_POOL_CLIENT_ID: "c",
          EVENTS_HTTP_ENDPOINT: "https://x.appsync-api.eu-west-1.amazonaws.com/event",
          EVENTS_REALTIME_ENDPOINT: "wss://x.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
          ECS_CLUSTER: "openclaw",
          ECS_TASK_DEFINITION: "runtime",
          ECS_CONTAINER_NAME: "runtime",
          ECS_SUBNETS: "subnet-a",
          ECS_SECURITY_GROUPS: "sg-1",
        },
        serverPolicyArn: "arn:aws:iam::123456789012:policy/p",
        runtimeLogGroup: "/openclaw/runtime",
      },
    },
  };
  const file = join(dir, "amplify_outputs.json");
  writeFileSync(file, JSON.stringify(outputs));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "openclaw-scripts-"));
  cognito = await startLocalCognito({ dir: join(dir, "cognito") });
  ({ userPoolId } = await ensureLocalAuth(cognito, join(dir, "state")));
  outputsFile = writeOutputs();
}, 60_000);

afterAll(async () => {
  await cognito?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("--help", () => {
  it.each([
    ["invite-user", invite.main],
    ["set-secret", setSecret.main],
    ["register-webhook", register.main],
    ["app-url", appUrl.main],
    ["tail-logs", tail.main],
    ["stop-runtime", stop.main],
    ["sandbox-env", sandboxEnv.main],
  ])("%s explains itself without touching AWS", async (_name, main) => {
    const out = io();
    await expect(main(["--help"], out)).resolves.toBe(0);
    expect(out.lines.join("\n")).toMatch(/^Usage:/);
  });

  it("rejects unknown options as a usage error", async () => {
    await expect(invite.main(["--emial", "a@b.c"], io())).rejects.toThrow(/Unknown option/);
  });
});

describe("invite-user", () => {
  it("creates a verified user in the pool and refuses a second invitation", async () => {
    const deps = { cognitoEndpoint: cognito.endpoint, credentials };
    const out = io();
    await expect(
      invite.main(["--email", "friend@example.com", "--outputs", outputsFile], out, deps),
    ).resolves.toBe(0);
    expect(out.lines[0]).toMatch(/Invited friend@example.com/);
    const user = await cognito.call<{ UserAttributes: { Name: string; Value: string }[] }>("AdminGetUser", {
      UserPoolId: userPoolId,
      Username: "friend@example.com",
    });
    expect(user.UserAttributes).toEqual(expect.arrayContaining([{ Name: "email_verified", Value: "true" }]));

    const again = io();
    await expect(
      invite.main(["--email", "friend@example.com", "--outputs", outputsFile], again, deps),
    ).resolves.toBe(1);
    expect(again.errors[0]).toMatch(/already has an account/);
  });

  it("wants a real email address", async () => {
    await expect(invite.main(["--email", "nobody", "--outputs", outputsFile], io())).rejects.toThrow(
      /--email/,
    );
  });
});

describe("set-secret", () => {
  it("stores the bot token and a fresh webhook secret as SecureStrings, printing neither", async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const out = io(TOKEN);
    await expect(
      setSecret.main(["telegram", "--outputs", outputsFile], out, {
        ssm: new SSMClient({ region: "eu-west-1" }),
      }),
    ).resolves.toBe(0);
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Name)).toEqual([
      "/serverless-openclaw/app/backend/telegram/bot-token",
      "/serverless-openclaw/app/backend/telegram/webhook-secret",
    ]);
    for (const p of puts) expect(p).toMatchObject({ Type: "SecureString", Overwrite: true });
    expect(puts[0]?.Value).toBe(TOKEN);
    expect(puts[1]?.Value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const printed = out.lines.join("\n");
    expect(printed).not.toContain(TOKEN.split(":")[1]);
    expect(printed).not.toContain(puts[1]?.Value);
  });

  it("refuses something that is not a bot token", async () => {
    await expect(
      setSecret.main(["telegram", "--outputs", outputsFile], io("hello"), {
        ssm: new SSMClient({ region: "eu-west-1" }),
      }),
    ).rejects.toThrow(/does not look like a bot token/);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it("stores a user's LLM key where the app's SSM secret store reads it, looking the user up by email", async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const { sub } = await cognito
      .call<{ UserAttributes: { Name: string; Value: string }[] }>("AdminGetUser", {
        UserPoolId: userPoolId,
        Username: "owner@example.com",
      })
      .then((u) => ({ sub: u.UserAttributes.find((a) => a.Name === "sub")?.Value }));
    const out = io("sk-test-123456");
    await expect(
      setSecret.main(["llm-key", "--email", "owner@example.com", "--outputs", outputsFile], out, {
        ssm: new SSMClient({ region: "eu-west-1" }),
        cognitoEndpoint: cognito.endpoint,
        credentials,
      }),
    ).resolves.toBe(0);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: `/serverless-openclaw/app/backend/${sub}/llm-api-key`,
      Type: "SecureString",
      Value: "sk-test-123456",
    });
    expect(out.lines.join("\n")).not.toContain("sk-test-123456");
  });
});

describe("register-webhook", () => {
  let server: Server;
  let apiRoot: string;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  let reply = { ok: true, result: true } as Record<string, unknown>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: JSON.parse(body || "{}") });
        res.writeHead(reply.ok ? 200 : 400, { "content-type": "application/json" });
        res.end(JSON.stringify(reply));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function secrets() {
    ssm
      .on(GetParameterCommand, { Name: "/serverless-openclaw/app/backend/telegram/bot-token" })
      .resolves({ Parameter: { Value: TOKEN } });
    ssm
      .on(GetParameterCommand, { Name: "/serverless-openclaw/app/backend/telegram/webhook-secret" })
      .resolves({ Parameter: { Value: "s3cret_value" } });
  }

  it("sets the webhook to <app url>/api/telegram with the stored secret, found from the deploy identifier", async () => {
    secrets();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "x",
          CreationTime: new Date(),
          StackStatus: "CREATE_COMPLETE",
          Outputs: [{ OutputKey: "AppUrl", OutputValue: "https://d111.cloudfront.net/" }],
        },
      ],
    });
    const out = io();
    const code = await register.main(
      ["--identifier", "prod", "--api-root", apiRoot, "--outputs", outputsFile],
      out,
      {
        ssm: new SSMClient({ region: "eu-west-1" }),
        cfn: new CloudFormationClient({ region: "eu-west-1" }),
      },
    );
    expect(code).toBe(0);
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input.StackName).toBe(
      appUrl.hostingStackName("prod"),
    );
    const call = received.at(-1);
    expect(call?.path).toBe(`/bot${TOKEN}/setWebhook`);
    expect(call?.body).toMatchObject({
      url: "https://d111.cloudfront.net/api/telegram",
      secret_token: "s3cret_value",
    });
    expect(out.lines.join("\n")).not.toContain(TOKEN);
  });

  it("reports Telegram's refusal without the token", async () => {
    secrets();
    reply = { ok: false, description: "Bad Request: bad webhook: HTTPS url must be provided for webhook" };
    const out = io();
    const code = await register.main(
      ["--url", "https://app.example.com", "--api-root", apiRoot, "--outputs", outputsFile],
      out,
      {
        ssm: new SSMClient({ region: "eu-west-1" }),
      },
    );
    reply = { ok: true, result: true };
    expect(code).toBe(1);
    expect(out.errors[0]).toMatch(/HTTPS url must be provided/);
    expect(out.errors.join("\n")).not.toContain(TOKEN);
  });
});

describe("stop-runtime", () => {
  it("stops the user's current task on the app's cluster", async () => {
    const states = new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName });
    const taskRef = "arn:aws:ecs:eu-west-1:123456789012:task/openclaw/abc123";
    await states.compareAndSet(SUB, 0, {
      status: "Running",
      taskRef,
      startedAt: new Date().toISOString(),
      idleTimeoutMinutes: 15,
    });
    ecs.on(StopTaskCommand).resolves({});
    const out = io();
    await expect(
      stop.main(["--sub", SUB, "--outputs", outputsFile], out, {
        ecs: new ECSClient({ region: "eu-west-1" }),
        dynamo: dynamo.client,
      }),
    ).resolves.toBe(0);
    expect(ecs.commandCalls(StopTaskCommand)[0]?.args[0].input).toMatchObject({
      cluster: "openclaw",
      task: taskRef,
    });
    expect(out.lines[0]).toMatch(/Stopping abc123/);
  });

  it("says so when nothing runs", async () => {
    const out = io();
    await stop.main(["--sub", "3f1c2a9e-0000-4000-8000-000000000009", "--outputs", outputsFile], out, {
      ecs: new ECSClient({ region: "eu-west-1" }),
      dynamo: dynamo.client,
    });
    expect(out.lines[0]).toMatch(/No runtime is running/);
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
  });
});

describe("sandbox-env", () => {
  it("prints the server configuration under the names lib/env.ts reads, and loadConfig accepts it", async () => {
    const { loadConfig } = await import("../lib/env");
    const out = io();
    await sandboxEnv.main(["--outputs", outputsFile], out);
    const env = Object.fromEntries(
      out.lines
        .join("\n")
        .split("\n")
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(env.APP_MODE).toBe("aws");
    expect(env.AWS_REGION).toBe("eu-west-1");
    expect(loadConfig(env as unknown as NodeJS.ProcessEnv).mode).toBe("aws");
  });
});

describe("tail-logs", () => {
  it("reads the runtime log group from the given time, limited to the user's task stream", async () => {
    const states = new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName });
    const sub = "3f1c2a9e-0000-4000-8000-000000000002";
    await states.compareAndSet(sub, 0, {
      status: "Running",
      taskRef: "arn:aws:ecs:eu-west-1:123456789012:task/openclaw/def456",
      startedAt: new Date().toISOString(),
      idleTimeoutMinutes: 15,
    });
    logs.on(FilterLogEventsCommand).resolves({
      events: [
        {
          eventId: "1",
          timestamp: 1_700_000_000_000,
          logStreamName: "runtime/runtime/def456",
          message: '{"msg":"ready"}\n',
        },
      ],
    });
    const out = io();
    await tail.main(["--sub", sub, "--since", "2h", "--outputs", outputsFile], out, {
      logs: new CloudWatchLogsClient({ region: "eu-west-1" }),
      dynamo: dynamo.client,
      now: () => 1_700_000_000_000,
    });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({
      logGroupName: "/openclaw/runtime",
      logStreamNamePrefix: "runtime/runtime/def456",
      startTime: 1_700_000_000_000 - 2 * 3_600_000,
    });
    expect(out.lines).toEqual(['2023-11-14T22:13:20.000Z def456 {"msg":"ready"}']);
  });

  it("parses --since", () => {
    expect(tail.parseSince("15m")).toBe(900_000);
    expect(tail.parseSince("1d")).toBe(86_400_000);
    expect(() => tail.parseSince("soon")).toThrow(/--since/);
  });
});
