import { z } from "zod";

/*
 * Messages between the engine (parent, holds credentials) and the OpenClaw worker (child,
 * clean environment), over Node's IPC channel. Both sides parse what they receive.
 */

const engineEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("phase"), phase: z.string() }),
  z.object({ type: z.literal("delta"), text: z.string() }),
  z.object({
    type: z.literal("tool"),
    toolCallId: z.string(),
    name: z.string(),
    status: z.enum(["running", "done", "error"]),
    summary: z.string().optional(),
  }),
]);

/** On a failed run: OpenClaw holds the provider's key back after a rejection, and why. */
const keyPausedSchema = z.enum(["auth", "billing"]).optional();

export const toWorkerSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("run"),
    runId: z.string(),
    /** OpenClaw's canonical key, `agent:main:<our key>`. */
    sessionKey: z.string(),
    text: z.string(),
    /** The provider id the config declares (see ./config PROVIDER_IDS), whose key state a failure is read from. */
    providerId: z.string(),
    timeoutSeconds: z.number().int().positive().optional(),
    /**
     * Warm-up without an LLM call: OpenClaw prepares the whole turn (tools, system prompt,
     * session), then the run is aborted as the model call starts.
     */
    stopBeforeModel: z.boolean().optional(),
  }),
  z.object({ type: z.literal("abort"), runId: z.string() }),
  /**
   * The settings were saved: load the config again for the next runs, and lift any pause
   * OpenClaw put on a provider key after a rejection (see ./key-pause.ts).
   */
  z.object({ type: z.literal("reload") }),
  /** Abort every run, then exit. */
  z.object({ type: z.literal("shutdown") }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

export const fromWorkerSchema = z.discriminatedUnion("type", [
  /** A start-up stage finished, `ms` after the worker process started. */
  z.object({ type: z.literal("stage"), stage: z.string(), ms: z.number() }),
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("event"), runId: z.string(), event: engineEventSchema }),
  z.object({
    type: z.literal("done"),
    runId: z.string(),
    text: z.string(),
    /** OpenClaw ended the turn with an error reply (its user-facing text is in `text`). */
    isError: z.boolean(),
    aborted: z.boolean(),
    keyPaused: keyPausedSchema,
  }),
  /** The run threw (not an error reply): `message` is OpenClaw's error message. */
  z.object({
    type: z.literal("failed"),
    runId: z.string(),
    name: z.string(),
    message: z.string(),
    keyPaused: keyPausedSchema,
  }),
  z.object({ type: z.literal("reloaded") }),
  z.object({ type: z.literal("fatal"), message: z.string() }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;

/** One OpenClaw session per conversation; OpenClaw only accepts `agent:<agentId>:` keys. */
export function toOpenClawSessionKey(sessionKey: string): string {
  return sessionKey.startsWith("agent:") ? sessionKey : `agent:main:${sessionKey}`;
}
