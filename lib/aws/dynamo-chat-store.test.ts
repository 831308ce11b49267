import { describeChatStoreContract } from "../ports/contract/chat-store";
import { DynamoChatStore } from "./dynamo-chat-store";
import { startTestDynamo } from "./dynamo-test-server";

const dynamo = startTestDynamo();

describeChatStoreContract(
  "DynamoChatStore on dynalite",
  () => new DynamoChatStore({ client: dynamo.client, tableName: dynamo.tableName }),
);
