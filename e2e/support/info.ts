import { readFileSync } from "node:fs";
import { z } from "zod";

/*
 * What the global setup started, written to one JSON file whose path is in E2E_INFO, so
 * the specs (in worker processes) can reach the app, the fake LLM's control endpoint and
 * the test users.
 */

const userSchema = z.object({ email: z.string(), password: z.string(), sub: z.string() });

export const e2eInfoSchema = z.object({
  appUrl: z.string().url(),
  /** The fake LLM's control endpoint (e2e/support/llm-control.ts). */
  llmControlUrl: z.string().url(),
  llmUrl: z.string().url(),
  eventsRealtimeEndpoint: z.string(),
  eventsHost: z.string(),
  stateDir: z.string(),
  /** For signing in from Node (API calls with a user's token). */
  cognito: z.object({ endpoint: z.string().url(), clientId: z.string() }),
  users: z.object({ alice: userSchema, bob: userSchema }),
});
export type E2eInfo = z.infer<typeof e2eInfoSchema>;
export type E2eUser = z.infer<typeof userSchema>;

export const E2E_INFO_ENV = "E2E_INFO";

let cached: E2eInfo | undefined;

export function e2eInfo(): E2eInfo {
  if (cached) return cached;
  const file = process.env[E2E_INFO_ENV];
  if (!file) throw new Error(`${E2E_INFO_ENV} is not set: run the specs through \`npx playwright test\``);
  cached = e2eInfoSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  return cached;
}
