import { nowIso, statusChannel } from "@/lib/contracts";
import { json, route } from "@/lib/http/route";
import { getRuntimeStatus } from "@/lib/services/runtime";
import { webPorts } from "@/lib/services/web-ports";

export const dynamic = "force-dynamic";

/**
 * Diagnostics: publishes the caller's current runtime status to their own
 * `/chat/<sub>/status` channel, proving the loop route → AppSync Events → browser. The
 * event carries the real state, so a chat page listening on the same channel stays right.
 */
export const POST = route({}, async ({ user }) => {
  const ports = webPorts();
  const status = await getRuntimeStatus(ports, user.sub);
  const channel = statusChannel(user.sub);
  const event = {
    type: "status" as const,
    at: nowIso(),
    state: status.state,
    ...(status.stage ? { stage: status.stage } : {}),
    ...(status.since ? { since: status.since } : {}),
  };
  await ports.publisher.publish(channel, [event]);
  return json({ channel, event }, 202);
});
