import type { Adapters } from "../adapters";
import { DynamoChatStore } from "../aws/dynamo-chat-store";
import { createDynamoClient, toDocumentClient } from "../aws/dynamo-client";
import { DynamoPendingQueue } from "../aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "../aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "../aws/dynamo-task-state-store";
import type { AgentEvent, ChatEvent } from "../contracts";
import { LOCAL_DYNAMO_CREDENTIALS, type LocalDynamo, startLocalDynamo } from "../local-cloud/dynamo";
import type { EventPublisher, LaunchResult, RuntimeLauncher } from "../ports";

/*
 * Test support for the service and route tests: the real DynamoDB stores on a dynalite
 * started on port 0, and recording stand-ins for the ports that talk to AWS.
 */

export interface ServiceHarness {
  dynamo: LocalDynamo;
  ports: Pick<Adapters, "chatStore" | "settingsStore" | "taskStates" | "queue">;
  close(): Promise<void>;
}

export async function startServiceHarness(): Promise<ServiceHarness> {
  const dynamo = await startLocalDynamo();
  const client = createDynamoClient({
    endpoint: dynamo.endpoint,
    region: dynamo.region,
    credentials: LOCAL_DYNAMO_CREDENTIALS,
  });
  const opts = { client: toDocumentClient(client), tableName: dynamo.tableName };
  return {
    dynamo,
    ports: {
      chatStore: new DynamoChatStore(opts),
      settingsStore: new DynamoSettingsStore(opts),
      taskStates: new DynamoTaskStateStore(opts),
      queue: new DynamoPendingQueue(opts),
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** Keeps what was published, per channel, for assertions. */
export class RecordingPublisher implements EventPublisher {
  readonly published: { channel: string; event: ChatEvent | AgentEvent }[] = [];
  async publish(channel: string, events: (ChatEvent | AgentEvent)[]): Promise<void> {
    for (const event of events) this.published.push({ channel, event });
  }
  on(channel: string): (ChatEvent | AgentEvent)[] {
    return this.published.filter((p) => p.channel === channel).map((p) => p.event);
  }
}

/** A launcher that records what it was asked (the real ones are tested on their own). */
export class RecordingLauncher implements RuntimeLauncher {
  launches: string[] = [];
  stopped: string[] = [];
  alive = new Set<string>();
  aliveChecks: string[] = [];
  delayMs = 0;
  fail = false;
  async launch(userId: string): Promise<LaunchResult> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error("RunTask failed");
    const taskRef = `local:${this.launches.length + 1000}`;
    this.launches.push(userId);
    this.alive.add(taskRef);
    return { taskRef };
  }
  async isAlive(taskRef: string): Promise<boolean> {
    this.aliveChecks.push(taskRef);
    return this.alive.has(taskRef);
  }
  async stop(taskRef: string): Promise<void> {
    this.stopped.push(taskRef);
    this.alive.delete(taskRef);
  }
}

/** One call to the local Cognito's JSON API (admin calls need no credentials locally). */
export async function cognitoCall<T>(endpoint: string, target: string, body: unknown): Promise<T> {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`cognito ${target} failed: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** Creates a confirmed user with a permanent password in the local pool. */
export async function createTestUser(
  cognito: { endpoint: string; userPoolId: string },
  email: string,
  password: string,
): Promise<void> {
  await cognitoCall(cognito.endpoint, "AdminCreateUser", {
    UserPoolId: cognito.userPoolId,
    Username: email,
    TemporaryPassword: password,
    MessageAction: "SUPPRESS",
    UserAttributes: [
      { Name: "email", Value: email },
      { Name: "email_verified", Value: "true" },
    ],
  });
  await cognitoCall(cognito.endpoint, "AdminSetUserPassword", {
    UserPoolId: cognito.userPoolId,
    Username: email,
    Password: password,
    Permanent: true,
  });
}

/** Password sign-in (USER_PASSWORD_AUTH, as local mode does): the access token and its sub. */
export async function signInForTest(
  cognito: { endpoint: string; clientId: string },
  email: string,
  password: string,
): Promise<{ accessToken: string; sub: string }> {
  const out = await cognitoCall<{ AuthenticationResult: { AccessToken: string } }>(
    cognito.endpoint,
    "InitiateAuth",
    {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: cognito.clientId,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    },
  );
  const accessToken = out.AuthenticationResult.AccessToken;
  const payload = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as {
    sub: string;
  };
  return { accessToken, sub: payload.sub };
}
