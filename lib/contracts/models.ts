import { z } from "zod";
import { idSchema, userIdSchema } from "./ids";

/** Limits users see in error messages; the route handlers and the runtime share them. */
export const LIMITS = {
  /** Longest user message accepted, in characters. */
  messageChars: 32_000,
  /** Longest conversation title. */
  titleChars: 120,
  /** Largest JSON body a route handler reads, in bytes. */
  bodyBytes: 256 * 1024,
} as const;

export const roleSchema = z.enum(["user", "assistant"]);

export const toolActivitySchema = z.object({
  toolCallId: z.string().max(200),
  name: z.string().max(200),
  status: z.enum(["running", "done", "error"]),
  /** Short, already-truncated text for the UI (arguments or result preview). */
  summary: z.string().max(2_000).optional(),
});
export type ToolActivity = z.infer<typeof toolActivitySchema>;

export const messageSchema = z.object({
  id: idSchema,
  conversationId: idSchema,
  role: roleSchema,
  content: z.string(),
  /** complete for user messages and finished replies; error/aborted for failed runs. */
  status: z.enum(["complete", "error", "aborted"]),
  createdAt: z.string().datetime(),
  /** For an assistant message: the user message it answers. */
  replyTo: idSchema.optional(),
  source: z.enum(["web", "telegram"]).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  tools: z.array(toolActivitySchema).optional(),
});
export type Message = z.infer<typeof messageSchema>;

export const conversationSchema = z.object({
  id: idSchema,
  title: z.string().max(LIMITS.titleChars),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
});
export type Conversation = z.infer<typeof conversationSchema>;

/** LLM providers the settings UI offers; each maps to one OpenClaw provider API shape. */
export const providerSchema = z.enum(["anthropic", "openai", "openai-compatible"]);
export type Provider = z.infer<typeof providerSchema>;

export const settingsSchema = z.object({
  provider: providerSchema,
  model: z.string().min(1).max(200),
  /** Only for openai-compatible providers (and tests pointing at a fake LLM). */
  baseUrl: z.string().url().max(500).optional(),
  idleTimeoutMinutes: z.number().int().min(1).max(240),
  /** Start the runtime when the chat page opens, so a cold start overlaps with typing. */
  prewarm: z.boolean(),
  /** Longest a single agent run may take, in seconds (stops tool loops). */
  runTimeoutSeconds: z.number().int().min(10).max(3_600),
});
export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  provider: "anthropic",
  model: "claude-sonnet-4-5",
  idleTimeoutMinutes: 15,
  prewarm: true,
  runTimeoutSeconds: 600,
};

/** Names of per-user secrets. Values never leave the secret store except into the runtime. */
export const secretNameSchema = z.enum(["llm-api-key"]);
export type SecretName = z.infer<typeof secretNameSchema>;

/**
 * One row per user. `version` increases on every write; every transition is a
 * conditional write on it, so two launchers can never both start a runtime.
 */
export const taskStatusSchema = z.enum(["Idle", "Starting", "Running", "Stopping"]);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const taskStateSchema = z.object({
  userId: userIdSchema,
  status: taskStatusSchema,
  version: z.number().int().nonnegative(),
  /** ECS task ARN, or `local:<pid>` for the local launcher. */
  taskRef: z.string().optional(),
  startedAt: z.string().datetime().optional(),
  lastActivityAt: z.string().datetime().optional(),
  heartbeatAt: z.string().datetime().optional(),
  idleTimeoutMinutes: z.number().int().positive(),
  /** Latest start-up stage reported by the runtime (restoring, starting_openclaw, warming, ready). */
  stage: z.string().max(100).optional(),
});
export type TaskState = z.infer<typeof taskStateSchema>;

/** A user message waiting for the runtime, durable across reconnects and crashes. */
export const pendingItemSchema = z.object({
  userId: userIdSchema,
  /** Time-sortable: the queue is drained in this order. */
  id: idSchema,
  conversationId: idSchema,
  messageId: idSchema,
  text: z.string().max(LIMITS.messageChars),
  source: z.enum(["web", "telegram"]),
  /** For Telegram: where the runtime sends the reply. */
  telegramChatId: z.number().int().optional(),
  enqueuedAt: z.string().datetime(),
  attempts: z.number().int().nonnegative(),
  /** Set while a runtime works on it; a lease that expires makes it claimable again. */
  claimedBy: z.string().optional(),
  leaseUntil: z.string().datetime().optional(),
});
export type PendingItem = z.infer<typeof pendingItemSchema>;
