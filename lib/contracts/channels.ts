import { SEGMENT_PATTERN } from "./ids";

/**
 * Channel rules shared by the local AppSync Events emulator, the AWS `onSubscribe`
 * handler, the server and the runtime. Pure functions, no imports beyond ids.
 */

export const CHAT_NAMESPACE = "chat";
export const AGENT_NAMESPACE = "agent";
export const MAX_SEGMENTS = 5;
export const MAX_EVENTS_PER_PUBLISH = 5;
export const MAX_EVENT_BYTES = 240 * 1024;

/** `/chat/<sub>/<conversationId>`: deltas, tool events and final messages of one conversation. */
export function conversationChannel(sub: string, conversationId: string): string {
  return `/${CHAT_NAMESPACE}/${sub}/${conversationId}`;
}

/** `/chat/<sub>/status`: the runtime's state (asleep, waking, ready, busy) for all of a user's tabs. */
export function statusChannel(sub: string): string {
  return `/${CHAT_NAMESPACE}/${sub}/status`;
}

/** `/agent/<sub>`: wake-ups and control messages from the server to the user's runtime. */
export function agentChannel(sub: string): string {
  return `/${AGENT_NAMESPACE}/${sub}`;
}

export type ChannelCheck =
  | { ok: true; namespace: string; segments: string[] }
  | { ok: false; reason: string };

/**
 * Validates a channel path the way AppSync Events does: `/namespace/seg...`, at most
 * 5 segments (namespace included) of 1-50 letters, digits or hyphens, and a trailing
 * `/*` only when subscribing.
 */
export function parseChannel(path: string, opts: { allowWildcard: boolean }): ChannelCheck {
  if (typeof path !== "string" || !path.startsWith("/"))
    return { ok: false, reason: "channel must start with /" };
  const segments = path.slice(1).split("/");
  if (segments.length > MAX_SEGMENTS)
    return { ok: false, reason: `channel has more than ${MAX_SEGMENTS} segments` };
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const last = i === segments.length - 1;
    if (seg === "*" && last && i > 0) {
      if (!opts.allowWildcard) return { ok: false, reason: "wildcards are only allowed when subscribing" };
      continue;
    }
    if (!SEGMENT_PATTERN.test(seg))
      return { ok: false, reason: `invalid channel segment "${seg.slice(0, 60)}"` };
  }
  return { ok: true, namespace: segments[0] as string, segments: segments.slice(1) };
}

/**
 * The per-user subscribe rule for the `chat` namespace: a user may subscribe to their
 * own paths only. The trailing `/` matters: without it `sub-evil` could read `sub`.
 * `/chat/*` and `/chat/<other>/...` are denied.
 */
export function canSubscribeToChat(sub: string, path: string): boolean {
  if (!sub || !SEGMENT_PATTERN.test(sub)) return false;
  const own = `/${CHAT_NAMESPACE}/${sub}`;
  return path === own || path.startsWith(`${own}/`);
}
