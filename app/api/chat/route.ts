import { json, route } from "@/lib/http/route";
import { sendMessage, sendMessageSchema } from "@/lib/services/send-message";
import { webPorts } from "@/lib/services/web-ports";

/** Send a message. 202 with ids: the reply streams over AppSync Events, never over this response. */
export const POST = route({ body: sendMessageSchema }, async ({ user, body }) =>
  json(await sendMessage(webPorts(), user.sub, body), 202),
);
