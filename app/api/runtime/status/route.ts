import { route } from "@/lib/http/route";
import { getRuntimeStatus } from "@/lib/services/runtime";
import { webPorts } from "@/lib/services/web-ports";

/** asleep | waking (stage, since) | ready | busy | stopping, and how many messages wait. */
export const GET = route({}, async ({ user }) => getRuntimeStatus(webPorts(), user.sub));
