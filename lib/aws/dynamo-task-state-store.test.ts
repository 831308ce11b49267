import { describeTaskStateStoreContract } from "../ports/contract/task-state-store";
import { startTestDynamo } from "../testing/dynamo-test-server";
import { DynamoTaskStateStore } from "./dynamo-task-state-store";

const dynamo = startTestDynamo();

describeTaskStateStoreContract(
  "DynamoTaskStateStore on dynalite",
  () => new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName }),
);
