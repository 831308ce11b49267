/*
 * The OpenClaw child's environment is built from an allowlist, never by copying the
 * runtime's: the runtime holds AWS credentials (and in ECS, the container credential
 * endpoint), and OpenClaw must see none of them. A bot token would be worse: the name
 * TELEGRAM_BOT_TOKEN alone switches on OpenClaw's own Telegram plugin, which deletes our
 * webhook. Provider keys reach OpenClaw through its config file, not the environment.
 */

/** Variables copied from the parent when present: the basics a Node program and its tools need. */
const ALLOWED = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TERM",
  "TMPDIR",
  "TMP",
  "TEMP",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  // Outbound proxies, for users whose provider is only reachable through one.
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
]);

/** Never passed on, whatever the allowlist says (defence in depth for the rules above). */
const DENIED = [/^AWS_/i, /^ECS_/i, /TOKEN/i, /SECRET/i, /PASSWORD/i, /API_KEY/i, /CREDENTIAL/i];

export interface ChildEnvOptions {
  /** OpenClaw's state folder (sessions, SQLite, workspace, config). */
  stateDir: string;
  /** Path of the generated openclaw.json. */
  configPath: string;
  /** Node's compile cache; the image bakes a warm one. */
  compileCacheDir: string;
  /** Extra variables for diagnostics (for example OPENCLAW_DIAGNOSTICS); checked against DENIED too. */
  extra?: Record<string, string>;
}

function denied(name: string): boolean {
  return DENIED.some((re) => re.test(name));
}

/** The complete environment of the OpenClaw child. Pure: reads nothing but its arguments. */
export function buildChildEnv(
  parentEnv: Readonly<Record<string, string | undefined>>,
  options: ChildEnvOptions,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parentEnv)) {
    if (value === undefined || !ALLOWED.has(name) || denied(name)) continue;
    env[name] = value;
  }
  Object.assign(env, {
    HOME: env.HOME ?? options.stateDir,
    OPENCLAW_HOME: options.stateDir,
    OPENCLAW_STATE_DIR: options.stateDir,
    OPENCLAW_CONFIG_PATH: options.configPath,
    // Quiet and offline-safe: no update checks, no telemetry, no mDNS, no channels, no respawn.
    OPENCLAW_NO_AUTO_UPDATE: "1",
    DO_NOT_TRACK: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_SKIP_CHANNELS: "1",
    OPENCLAW_NO_RESPAWN: "1",
    OPENCLAW_EXEC_SHELL_SNAPSHOT: "0",
    NODE_COMPILE_CACHE: options.compileCacheDir,
    NODE_ENV: "production",
    // Plain log lines (they go to a file and the runtime's log, not a terminal).
    NO_COLOR: "1",
  });
  for (const [name, value] of Object.entries(options.extra ?? {})) {
    if (!denied(name)) env[name] = value;
  }
  return env;
}
