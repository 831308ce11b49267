import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../contracts";
import { startTestDynamo } from "../testing/dynamo-test-server";
import { newUserId } from "../testing/port-contracts/helpers";
import { describeSettingsStoreContract } from "../testing/port-contracts/settings-store";
import { DynamoSettingsStore } from "./dynamo-settings-store";

const dynamo = startTestDynamo();

describeSettingsStoreContract(
  "DynamoSettingsStore on dynalite",
  () => new DynamoSettingsStore({ client: dynamo.client, tableName: dynamo.tableName }),
);

describe("DynamoSettingsStore specifics", () => {
  it("falls back to the default for each stored field that no longer validates", async () => {
    const user = newUserId();
    await dynamo.client.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: {
          pk: `USER#${user}`,
          sk: "SETTINGS",
          settings: { provider: "retired-provider", model: "m-1", idleTimeoutMinutes: 9999, prewarm: false },
        },
      }),
    );
    const store = new DynamoSettingsStore({ client: dynamo.client, tableName: dynamo.tableName });
    expect(await store.getSettings(user)).toEqual({
      ...DEFAULT_SETTINGS,
      model: "m-1",
      prewarm: false,
    });
  });
});
