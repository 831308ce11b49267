import { z } from "zod";
import { idSchema } from "./ids";
import { messageSchema, toolActivitySchema } from "./models";

/**
 * Every message on an AppSync Events channel is one of these, defined once and parsed
 * on both ends. The `chat` namespace carries ChatEvent, the `agent` namespace AgentEvent.
 */

export const runtimeStateSchema = z.enum(["asleep", "waking", "ready", "busy", "stopping"]);
export type RuntimeState = z.infer<typeof runtimeStateSchema>;

export const errorCodeSchema = z.enum([
  "missing_api_key",
  "invalid_api_key",
  "provider_unavailable",
  "rate_limited",
  "run_timeout",
  "runtime_failed",
  "aborted",
]);
export type RunErrorCode = z.infer<typeof errorCodeSchema>;

const base = { at: z.string().datetime() };

export const chatEventSchema = z.discriminatedUnion("type", [
  /** On `/chat/<sub>/status`. `stage` and `since` describe a cold start in progress. */
  z.object({
    type: z.literal("status"),
    ...base,
    state: runtimeStateSchema,
    stage: z.string().max(100).optional(),
    since: z.string().datetime().optional(),
    conversationId: idSchema.optional(),
  }),
  /** A user message was stored (lets other tabs and Telegram-originated turns show it). */
  z.object({ type: z.literal("message"), ...base, message: messageSchema }),
  z.object({
    type: z.literal("run.started"),
    ...base,
    runId: idSchema,
    conversationId: idSchema,
    replyTo: idSchema,
  }),
  /** OpenClaw's phases before the first token (preparing_context, starting_model ...). */
  z.object({ type: z.literal("run.phase"), ...base, runId: idSchema, phase: z.string().max(100) }),
  /** `seq` starts at 0 per run; text is the appended chunk, never the whole reply. */
  z.object({
    type: z.literal("delta"),
    ...base,
    runId: idSchema,
    conversationId: idSchema,
    seq: z.number().int().nonnegative(),
    text: z.string(),
  }),
  z.object({ type: z.literal("tool"), ...base, runId: idSchema, tool: toolActivitySchema }),
  /** The stored assistant message; replaces the streamed text. */
  z.object({ type: z.literal("final"), ...base, runId: idSchema, message: messageSchema }),
  z.object({
    type: z.literal("error"),
    ...base,
    runId: idSchema.optional(),
    conversationId: idSchema.optional(),
    replyTo: idSchema.optional(),
    code: errorCodeSchema,
    message: z.string().max(1_000),
  }),
]);
export type ChatEvent = z.infer<typeof chatEventSchema>;

export const agentEventSchema = z.discriminatedUnion("type", [
  /** New work is in the pending queue: the runtime lists it and claims each conversation's head. */
  z.object({ type: z.literal("wake"), ...base }),
  /** Stop the current run of a conversation. */
  z.object({ type: z.literal("abort"), ...base, conversationId: idSchema }),
  /** Settings (provider, model, key, idle timeout) changed: rewrite OpenClaw's config. */
  z.object({ type: z.literal("settings"), ...base }),
  /** Stop the runtime (user request or watchdog). */
  z.object({ type: z.literal("shutdown"), ...base, reason: z.string().max(200) }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

export function nowIso(): string {
  return new Date().toISOString();
}
