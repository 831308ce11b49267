import { AGENT_NAMESPACE, CHAT_NAMESPACE, canSubscribeToChat } from "../../contracts/channels";
import type { AuthMode } from "./protocol";

/** Who made a request, once its credentials checked out. */
export type EventsIdentity =
  | { mode: "API_KEY" }
  | { mode: "AMAZON_COGNITO_USER_POOLS"; sub: string }
  | { mode: "AWS_IAM"; accessKeyId: string };

/**
 * One channel namespace, as configured on the AWS `ChannelNamespace`: the auth modes
 * allowed per operation and, like an `onSubscribe` handler, an optional per-identity rule.
 */
export interface NamespaceConfig {
  subscribeAuthModes: AuthMode[];
  publishAuthModes: AuthMode[];
  /** Returning false answers `subscribe_error` with errorType `Unauthorized` (as `util.unauthorized()` does). */
  onSubscribe?: (identity: EventsIdentity, channel: string) => boolean;
}

export type NamespacesConfig = Record<string, NamespaceConfig>;

/**
 * The app's namespaces, as amplify/realtime/resource.ts deploys them: browsers subscribe
 * to their own `chat` paths with Cognito, the server and runtime publish with IAM; `agent`
 * is IAM only. No namespace accepts the API key.
 */
export function defaultNamespaces(): NamespacesConfig {
  return {
    [CHAT_NAMESPACE]: {
      subscribeAuthModes: ["AMAZON_COGNITO_USER_POOLS", "AWS_IAM"],
      publishAuthModes: ["AWS_IAM"],
      // The same pure rule the AWS onSubscribe handler uses; IAM callers are trusted.
      onSubscribe: (identity, channel) =>
        identity.mode !== "AMAZON_COGNITO_USER_POOLS" || canSubscribeToChat(identity.sub, channel),
    },
    [AGENT_NAMESPACE]: {
      subscribeAuthModes: ["AWS_IAM"],
      publishAuthModes: ["AWS_IAM"],
    },
  };
}
