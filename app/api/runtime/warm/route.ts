import { json, route } from "@/lib/http/route";
import { warmRuntime } from "@/lib/services/runtime";

/** Start the caller's runtime ahead of the first message (202 with the status). */
export const POST = route({}, async ({ user, container }) =>
  json(await warmRuntime(container, user.sub), 202),
);
