import { json, route } from "@/lib/http/route";
import { retryParamsSchema, retryRun } from "@/lib/services/retry-run";

/**
 * Run a user message whose reply failed again (202): its failed reply is removed and the
 * new answer streams under the same message. 404 for a message that is not the caller's,
 * 409 when it has an answer that did not fail.
 */
export const POST = route({ params: retryParamsSchema }, async ({ user, params, container }) =>
  json(await retryRun(container, user.sub, params.id, params.messageId), 202),
);
