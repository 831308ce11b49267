import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Provider } from "../../../lib/contracts";
import type { EngineSettings } from "../engine";

/*
 * openclaw.json, written from the user's settings on every start and on every settings
 * change. It holds the provider key, so it is written with mode 0600 and never logged.
 * Choices (see docs/adr/0004-openclaw-engine.md):
 * - Each of our providers maps to one OpenClaw API shape, declared as a custom provider, so
 *   no provider plugin has to load.
 * - exec keeps running shell commands without asking (there is nobody to ask while a run
 *   streams), inside limits: the runtime is the sandbox (own container or child process,
 *   no cloud credentials, no inbound port), a per-command timeout, loop detection, and a
 *   timeout for the whole run.
 * - Channels, update checks, cron and heartbeat are off: the runtime stops when idle, so
 *   scheduled work could not fire anyway, and a draining cron run delays shutdown.
 */

/** Plugins that add tools or content handling usable in a headless container. */
export const DEFAULT_PLUGIN_ALLOW = ["memory-core", "document-extract", "web-readability"] as const;

/** The OpenClaw provider id our settings map to (the model ref is `<id>/<model>`). */
export const PROVIDER_IDS: Record<Provider, string> = {
  anthropic: "anthropic",
  openai: "openai",
  "openai-compatible": "custom",
};

const SHAPES: Record<Provider, { api: string; baseUrl: string; contextWindow: number; maxTokens: number }> = {
  anthropic: {
    api: "anthropic-messages",
    baseUrl: "https://api.anthropic.com",
    contextWindow: 200_000,
    maxTokens: 8_192,
  },
  openai: {
    api: "openai-responses",
    baseUrl: "https://api.openai.com/v1",
    contextWindow: 128_000,
    maxTokens: 16_384,
  },
  "openai-compatible": { api: "openai-completions", baseUrl: "", contextWindow: 128_000, maxTokens: 8_192 },
};

export interface OpenClawConfigOptions {
  stateDir: string;
  /** Per-command exec timeout, seconds (OpenClaw's default is 1800). */
  execTimeoutSeconds?: number;
  /** `full` (default) runs commands without asking; `deny` removes shell access. */
  execMode?: "full" | "deny";
  /** Plugin allowlist; defaults to DEFAULT_PLUGIN_ALLOW. */
  pluginAllow?: readonly string[];
}

/** The config object for `settings` (pure). Throws when an openai-compatible provider has no baseUrl. */
export function buildOpenClawConfig(
  settings: EngineSettings,
  options: OpenClawConfigOptions,
): Record<string, unknown> {
  const shape = SHAPES[settings.provider];
  const baseUrl = (settings.baseUrl ?? shape.baseUrl).replace(/\/+$/, "");
  if (!baseUrl) throw new Error("an OpenAI-compatible provider needs a base URL");
  const providerId = PROVIDER_IDS[settings.provider];
  return {
    agents: {
      defaults: {
        model: { primary: `${providerId}/${settings.model}` },
        workspace: join(options.stateDir, "workspace"),
        timeoutSeconds: settings.runTimeoutSeconds,
        heartbeat: { every: "0m" },
      },
    },
    models: {
      mode: "merge",
      providers: {
        [providerId]: {
          baseUrl,
          // OpenClaw needs some key to build a request; an absent key fails the run in the engine first.
          apiKey: settings.apiKey ?? "missing",
          api: shape.api,
          models: [
            {
              id: settings.model,
              name: settings.model,
              reasoning: false,
              input: ["text", "image"],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: shape.contextWindow,
              maxTokens: shape.maxTokens,
            },
          ],
        },
      },
    },
    tools: {
      exec: { mode: options.execMode ?? "full", timeoutSeconds: options.execTimeoutSeconds ?? 120 },
      loopDetection: { enabled: true },
    },
    plugins: { allow: [...(options.pluginAllow ?? DEFAULT_PLUGIN_ALLOW)] },
    update: { checkOnStart: false },
    cron: { enabled: false },
    // Skills are restored before start; watching the folder only costs start-up time.
    skills: { load: { watch: false } },
    gateway: { controlUi: { enabled: false } },
    logging: { file: join(options.stateDir, "logs", "openclaw.log"), maxFileBytes: 10 * 1024 * 1024 },
  };
}

/**
 * OpenClaw's agent-level settings file. Provider retries are capped: by default a provider
 * that refuses connections is retried 8 times over about 100 s before the user hears of it.
 */
export function buildAgentSettings(): Record<string, unknown> {
  return { retry: { provider: { maxRetries: 2, maxRetryDelayMs: 5_000 } } };
}

async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Write-then-rename so a reader never sees half a file; 0600 from the first byte.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Writes openclaw.json (0600) and the agent settings; returns the config path. */
export async function writeOpenClawConfig(
  settings: EngineSettings,
  options: OpenClawConfigOptions,
): Promise<string> {
  const configPath = join(options.stateDir, "openclaw.json");
  await writePrivate(configPath, `${JSON.stringify(buildOpenClawConfig(settings, options), null, 2)}\n`);
  await writePrivate(
    join(options.stateDir, "agents", "main", "agent", "settings.json"),
    `${JSON.stringify(buildAgentSettings(), null, 2)}\n`,
  );
  await mkdir(join(options.stateDir, "logs"), { recursive: true });
  return configPath;
}
