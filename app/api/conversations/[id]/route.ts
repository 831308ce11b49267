import { z } from "zod";
import { route } from "@/lib/http/route";
import {
  conversationIdSchema,
  deleteConversation,
  getConversation,
  renameConversation,
  renameSchema,
} from "@/lib/services/conversations";
import { webPorts } from "@/lib/services/web-ports";

const params = z.object({ id: conversationIdSchema });

export const GET = route({ params }, async ({ user, params }) => ({
  conversation: await getConversation(webPorts(), user.sub, params.id),
}));

/** Rename: `{ title }`. */
export const PATCH = route({ params, body: renameSchema }, async ({ user, params, body }) => ({
  conversation: await renameConversation(webPorts(), user.sub, params.id, body.title),
}));

/** Delete with its messages and queued items (204). */
export const DELETE = route({ params }, async ({ user, params }) => {
  await deleteConversation(webPorts(), user.sub, params.id);
});
