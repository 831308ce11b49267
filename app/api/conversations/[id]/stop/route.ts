import { z } from "zod";
import { route } from "@/lib/http/route";
import { conversationIdSchema } from "@/lib/services/conversations";
import { stopRun } from "@/lib/services/stop-run";

/** Stop the conversation's run and drop its waiting messages: `{ dropped: messageId[] }`. */
export const POST = route(
  { params: z.object({ id: conversationIdSchema }) },
  async ({ user, params, container }) => stopRun(container, user.sub, params.id),
);
