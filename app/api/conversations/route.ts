import { route } from "@/lib/http/route";
import { listConversations, pageQuerySchema } from "@/lib/services/conversations";
import { webPorts } from "@/lib/services/web-ports";

/** The caller's conversations, newest first: `{ items, cursor? }`. */
export const GET = route({ query: pageQuerySchema }, async ({ user, query }) =>
  listConversations(webPorts(), user.sub, query),
);
