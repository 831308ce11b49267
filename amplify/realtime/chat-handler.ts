import { util } from "@aws-appsync/utils";
import { canSubscribeToChat } from "../../lib/contracts/channels";

/*
 * The `chat` namespace's event handler, run by AppSync in its APPSYNC_JS runtime. It is
 * bundled (see handler-code.ts) with the same `canSubscribeToChat` the local emulator uses,
 * so both enforce one rule: a user subscribes to `/chat/<own sub>` and below, nothing else.
 * Only subscribers authenticate with Cognito in this namespace; IAM callers (server,
 * runtime) publish and never reach this handler with a `sub`.
 */

interface SubscribeContext {
  identity?: { sub?: string } | null;
  info: { channel: { path: string } };
}

export function onSubscribe(ctx: SubscribeContext): void {
  const sub = ctx.identity?.sub ?? "";
  if (!canSubscribeToChat(sub, ctx.info.channel.path)) util.unauthorized();
}
