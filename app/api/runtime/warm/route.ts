import { json, route } from "@/lib/http/route";
import { warmRuntime } from "@/lib/services/runtime";
import { webPorts } from "@/lib/services/web-ports";

/** Start the caller's runtime ahead of the first message (202 with the status). */
export const POST = route({}, async ({ user }) => json(await warmRuntime(webPorts(), user.sub), 202));
