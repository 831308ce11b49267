import { DynamoChatStore } from "../aws/dynamo-chat-store";
import { createDynamoClient, toDocumentClient } from "../aws/dynamo-client";
import { DynamoPendingQueue } from "../aws/dynamo-pending-queue";
import { DynamoSettingsStore } from "../aws/dynamo-settings-store";
import { DynamoTaskStateStore } from "../aws/dynamo-task-state-store";
import type { AgentEvent, ChatEvent } from "../contracts";
import { LOCAL_DYNAMO_CREDENTIALS, type LocalDynamo, startLocalDynamo } from "../local/dynamo";
import type { EventPublisher } from "../ports";
import type { ServicePorts } from "./deps";

/*
 * Test support for the service tests: the real DynamoDB stores on a dynalite started on
 * port 0. Not a test file itself (no `.test.ts`), so vitest does not collect it.
 */

export interface ServiceHarness {
  dynamo: LocalDynamo;
  ports: Omit<ServicePorts, "publisher" | "secrets" | "ensureRuntime">;
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
