import { z } from "zod";
import type { AppConfig } from "../env";

/**
 * What the browser needs to configure aws-amplify, served by `GET /api/config` in every
 * mode. Only public identifiers and endpoints: never credentials, API keys or secrets.
 */
export const publicConfigSchema = z.object({
  mode: z.enum(["local", "aws"]),
  region: z.string(),
  auth: z.object({
    userPoolId: z.string(),
    userPoolClientId: z.string(),
    /** Local mode only: the cognito-local endpoint (with the refresh-token handler). */
    userPoolEndpoint: z.string().url().optional(),
    /** cognito-local has no SRP: local mode signs in with USER_PASSWORD_AUTH. */
    authFlowType: z.enum(["USER_PASSWORD_AUTH", "USER_SRP_AUTH"]),
  }),
  events: z.object({
    /** The HTTP endpoint (`.../event`); aws-amplify derives the realtime one from it. */
    endpoint: z.string().url(),
  }),
});
export type PublicConfig = z.infer<typeof publicConfigSchema>;

/** Picks the public part of the server configuration. */
export function toPublicConfig(config: AppConfig): PublicConfig {
  return {
    mode: config.mode,
    region: config.region,
    auth: {
      userPoolId: config.auth.userPoolId,
      userPoolClientId: config.auth.clientId,
      ...(config.mode === "local" && config.auth.endpoint ? { userPoolEndpoint: config.auth.endpoint } : {}),
      authFlowType: config.mode === "local" ? "USER_PASSWORD_AUTH" : "USER_SRP_AUTH",
    },
    events: { endpoint: config.events.httpEndpoint },
  };
}
