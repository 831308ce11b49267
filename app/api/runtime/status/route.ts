import { route } from "@/lib/http/route";
import { getRuntimeStatus } from "@/lib/services/runtime";

/** asleep | waking (stage, since) | ready | busy | stopping, and how many messages wait. */
export const GET = route({}, async ({ user, container }) => getRuntimeStatus(container, user.sub));
