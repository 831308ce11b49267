import { describeSettingsStoreContract } from "../ports/contract/settings-store";
import { DynamoSettingsStore } from "./dynamo-settings-store";
import { startTestDynamo } from "./dynamo-test-server";

const dynamo = startTestDynamo();

describeSettingsStoreContract(
  "DynamoSettingsStore on dynalite",
  () => new DynamoSettingsStore({ client: dynamo.client, tableName: dynamo.tableName }),
);
