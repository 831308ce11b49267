import { Amplify } from "aws-amplify";
import { installLocalWebSocket } from "./local-websocket";
import { type PublicConfig, publicConfigSchema } from "./public-config";

/*
 * The one place the browser configures aws-amplify. The configuration comes from
 * `GET /api/config` (public identifiers only) in every mode, so local mode and AWS read the
 * same shape. Local mode also points Cognito at cognito-local (`userPoolEndpoint`) and
 * installs the wss→ws rewrite for the loopback events emulator.
 */

let current: PublicConfig | undefined;
let loading: Promise<PublicConfig> | undefined;

/** Configures Amplify from a public configuration (tests in Node call this directly). */
export function configureAmplify(config: PublicConfig): PublicConfig {
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: config.auth.userPoolId,
        userPoolClientId: config.auth.userPoolClientId,
        ...(config.auth.userPoolEndpoint ? { userPoolEndpoint: config.auth.userPoolEndpoint } : {}),
        loginWith: { email: true },
      },
    },
    API: {
      Events: { endpoint: config.events.endpoint, region: config.region, defaultAuthMode: "userPool" },
    },
  });
  if (config.mode === "local") installLocalWebSocket();
  current = config;
  return config;
}

/** Fetches and validates `GET /api/config`. */
export async function loadPublicConfig(url = "/api/config"): Promise<PublicConfig> {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`could not load the app configuration (HTTP ${res.status})`);
  const parsed = publicConfigSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error("the app configuration from /api/config is malformed");
  return parsed.data;
}

/** Configures Amplify once per page load; every auth or realtime call awaits this first. */
export function ensureAmplify(): Promise<PublicConfig> {
  if (current) return Promise.resolve(current);
  loading ??= loadPublicConfig()
    .then(configureAmplify)
    .catch((err: unknown) => {
      loading = undefined; // let the next call retry
      throw err;
    });
  return loading;
}

/** The configuration once ensureAmplify() has resolved. */
export function getPublicConfig(): PublicConfig | undefined {
  return current;
}
