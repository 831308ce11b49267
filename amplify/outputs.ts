import { readFileSync } from "node:fs";
import { z } from "zod";

/*
 * What backend.ts publishes under `custom` in amplify_outputs.json, and the one reader of
 * it for hosting.ts and the ops scripts. amplify_outputs.json is public (the browser loads
 * it), so it carries names, ARNs and endpoints only, never a secret.
 */

/** Key under `custom` for the server and ops configuration. */
export const OPENCLAW_OUTPUT_KEY = "openclaw";

/**
 * The SSR function's (and a sandbox `npm run dev`'s) environment, named as lib/env.ts reads
 * it. AWS_REGION is not here: Lambda sets it and refuses it as a configured variable.
 */
export const serverEnvSchema = z.object({
  APP_MODE: z.literal("aws"),
  TABLE_NAME: z.string().min(1),
  BUCKET_NAME: z.string().min(1),
  SSM_PREFIX: z.string().startsWith("/"),
  USER_POOL_ID: z.string().min(1),
  USER_POOL_CLIENT_ID: z.string().min(1),
  EVENTS_HTTP_ENDPOINT: z.string().url(),
  EVENTS_REALTIME_ENDPOINT: z.string().min(1),
  ECS_CLUSTER: z.string().min(1),
  ECS_TASK_DEFINITION: z.string().min(1),
  ECS_CONTAINER_NAME: z.string().min(1),
  ECS_SUBNETS: z.string().min(1),
  ECS_SECURITY_GROUPS: z.string().min(1),
});
export type ServerEnv = z.infer<typeof serverEnvSchema>;

export const openclawOutputSchema = z.object({
  version: z.literal("1"),
  region: z.string().min(1),
  serverEnv: serverEnvSchema,
  /** Managed policy hosting.ts attaches to the SSR function's role. */
  serverPolicyArn: z.string().startsWith("arn:"),
  /** CloudWatch log group of the runtime tasks (tail-logs script). */
  runtimeLogGroup: z.string().min(1),
});
export type OpenclawOutput = z.infer<typeof openclawOutputSchema>;

const amplifyOutputsSchema = z.object({
  auth: z.object({ user_pool_id: z.string(), aws_region: z.string() }).loose().optional(),
  custom: z
    .object({
      events: z.object({ url: z.string().url(), aws_region: z.string() }).loose(),
      [OPENCLAW_OUTPUT_KEY]: openclawOutputSchema,
    })
    .loose(),
});
export type AmplifyOutputs = z.infer<typeof amplifyOutputsSchema>;

/** Reads and validates amplify_outputs.json; the error says which deploy step writes it. */
export function readAmplifyOutputs(file = "amplify_outputs.json"): AmplifyOutputs {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    throw new Error(
      `${file} not found: deploy the backend first (\`npx ampx sandbox\` or \`npx ampx deploy\`) or pass --outputs`,
    );
  }
  const parsed = amplifyOutputsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`${file} is not from this backend or is out of date: ${issues}`);
  }
  return parsed.data;
}
