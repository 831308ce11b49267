import { events } from "aws-amplify/data";
import { type ChatEvent, chatEventSchema } from "../contracts";
import { ensureAmplify } from "./amplify";

/*
 * Browser subscriptions to the user's own `chat` channels over AppSync Events (or the
 * local emulator), with the Cognito access token. Every message is parsed with
 * chatEventSchema; anything else is reported, never passed on.
 */

export interface ChannelHandlers {
  onEvent: (event: ChatEvent) => void;
  /** The subscription failed or the connection broke for good. */
  onError?: (err: unknown) => void;
  /** A message that is not a ChatEvent (a bug or a version mismatch). */
  onInvalid?: (raw: unknown) => void;
}

export interface ChannelSubscription {
  /** Resolves once the server acknowledged the subscription, rejects if it refused it. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Subscribes to one channel (e.g. `statusChannel(sub)` or `/chat/<sub>/*`). */
export async function subscribeToChannel(
  channel: string,
  handlers: ChannelHandlers,
): Promise<ChannelSubscription> {
  await ensureAmplify();
  const ch = await events.connect(channel);
  const sub = ch.subscribe({
    next: (message: { event?: unknown }) => {
      const parsed = chatEventSchema.safeParse(message?.event);
      if (parsed.success) handlers.onEvent(parsed.data);
      else handlers.onInvalid?.(message?.event);
    },
    error: (err: unknown) => handlers.onError?.(err),
  });
  let closed = false;
  const ready = sub.ready.then(() => undefined);
  // Closing before the ack rejects `ready`; callers that stop caring must not see that as unhandled.
  ready.catch(() => undefined);
  return {
    ready,
    close: async () => {
      if (closed) return;
      closed = true;
      await ch.close();
    },
  };
}
