import { startTestDynamo } from "../testing/dynamo-test-server";
import { describeTaskStateStoreContract } from "../testing/port-contracts/task-state-store";
import { DynamoTaskStateStore } from "./dynamo-task-state-store";

const dynamo = startTestDynamo();

describeTaskStateStoreContract(
  "DynamoTaskStateStore on dynalite",
  () => new DynamoTaskStateStore({ client: dynamo.client, tableName: dynamo.tableName }),
);
