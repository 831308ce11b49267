import { z } from "zod";
import { route } from "@/lib/http/route";
import { conversationIdSchema, listMessages, messagesQuerySchema } from "@/lib/services/conversations";
import { webPorts } from "@/lib/services/web-ports";

/** Messages oldest first; `?after=<messageId>` for catch-up, `?cursor=` for the next page. */
export const GET = route(
  { params: z.object({ id: conversationIdSchema }), query: messagesQuerySchema },
  async ({ user, params, query }) => listMessages(webPorts(), user.sub, params.id, query),
);
