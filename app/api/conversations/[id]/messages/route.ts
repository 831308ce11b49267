import { z } from "zod";
import { route } from "@/lib/http/route";
import { conversationIdSchema, listMessages, messagesQuerySchema } from "@/lib/services/conversations";

/** Messages oldest first; `?after=<messageId>` for catch-up, `?cursor=` for the next page. */
export const GET = route(
  { params: z.object({ id: conversationIdSchema }), query: messagesQuerySchema },
  async ({ user, params, query, container }) => listMessages(container, user.sub, params.id, query),
);
