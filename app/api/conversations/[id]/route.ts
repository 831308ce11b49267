import { z } from "zod";
import { route } from "@/lib/http/route";
import {
  conversationIdSchema,
  deleteConversation,
  getConversation,
  renameConversation,
  renameSchema,
} from "@/lib/services/conversations";

const params = z.object({ id: conversationIdSchema });

export const GET = route({ params }, async ({ user, params, container }) => ({
  conversation: await getConversation(container, user.sub, params.id),
}));

/** Rename: `{ title }`. */
export const PATCH = route({ params, body: renameSchema }, async ({ user, params, body, container }) => ({
  conversation: await renameConversation(container, user.sub, params.id, body.title),
}));

/** Delete with its messages and queued items (204). */
export const DELETE = route({ params }, async ({ user, params, container }) => {
  await deleteConversation(container, user.sub, params.id);
});
