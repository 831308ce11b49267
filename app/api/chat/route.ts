import { json, route } from "@/lib/http/route";
import { sendMessage, sendMessageSchema } from "@/lib/services/send-message";

/** Send a message. 202 with ids: the reply streams over AppSync Events, never over this response. */
export const POST = route({ body: sendMessageSchema }, async ({ user, body, container }) =>
  json(await sendMessage(container, user.sub, body), 202),
);
