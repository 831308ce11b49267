import { describePendingQueueContract } from "../ports/contract/pending-queue";
import { DynamoPendingQueue } from "./dynamo-pending-queue";
import { startTestDynamo } from "./dynamo-test-server";

const dynamo = startTestDynamo();

describePendingQueueContract(
  "DynamoPendingQueue on dynalite",
  () => new DynamoPendingQueue({ client: dynamo.client, tableName: dynamo.tableName }),
);
