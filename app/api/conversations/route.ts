import { route } from "@/lib/http/route";
import { listConversations, pageQuerySchema } from "@/lib/services/conversations";

/** The caller's conversations, newest first: `{ items, cursor? }`. */
export const GET = route({ query: pageQuerySchema }, async ({ user, query, container }) =>
  listConversations(container, user.sub, query),
);
