import { z } from "zod";
import { route } from "@/lib/http/route";
import { conversationIdSchema } from "@/lib/services/conversations";
import { stopRun } from "@/lib/services/stop-run";
import { webPorts } from "@/lib/services/web-ports";

/** Stop the conversation's run and drop its waiting messages: `{ dropped: messageId[] }`. */
export const POST = route({ params: z.object({ id: conversationIdSchema }) }, async ({ user, params }) =>
  stopRun(webPorts(), user.sub, params.id),
);
