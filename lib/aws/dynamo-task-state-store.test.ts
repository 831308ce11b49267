import { describeTaskStateStoreContract } from "../ports/contract/task-state-store";
import { DynamoTaskStateStore } from "./dynamo-task-state-store";
import { startTestDynamo } from "./dynamo-test-server";

const dynamo = startTestDynamo();

describeTaskStateStoreContract(
  "DynamoTaskStateStore on dynalite",
  () => new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName }),
);
