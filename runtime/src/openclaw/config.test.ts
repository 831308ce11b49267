import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EngineSettings } from "../engine";
import { buildOpenClawConfig, writeOpenClawConfig } from "./config";

const base: EngineSettings = {
  provider: "anthropic",
  model: "claude-x",
  apiKey: "sk-ant-test",
  runTimeoutSeconds: 300,
};
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Cfg = {
  agents: { defaults: { model: { primary: string }; timeoutSeconds: number } };
  models: {
    providers: Record<
      string,
      { api: string; baseUrl: string; apiKey: string; models: Array<{ id: string; name: string }> }
    >;
  };
  tools: { exec: { mode: string; timeoutSeconds: number }; loopDetection: { enabled: boolean } };
  plugins: { allow: string[] };
  update: { checkOnStart: boolean };
  cron: { enabled: boolean };
};

describe("buildOpenClawConfig", () => {
  it.each([
    ["anthropic", undefined, "anthropic", "anthropic-messages", "https://api.anthropic.com"],
    ["openai", undefined, "openai", "openai-responses", "https://api.openai.com/v1"],
    ["openai-compatible", "http://127.0.0.1:9/v1/", "custom", "openai-completions", "http://127.0.0.1:9/v1"],
  ] as const)("maps %s to one OpenClaw provider shape", (provider, baseUrl, id, api, url) => {
    const cfg = buildOpenClawConfig({ ...base, provider, baseUrl }, { stateDir: "/s" }) as Cfg;
    expect(cfg.agents.defaults.model.primary).toBe(`${id}/claude-x`);
    const p = cfg.models.providers[id];
    expect(p).toMatchObject({ api, baseUrl: url, apiKey: "sk-ant-test" });
    // OpenClaw's schema rejects a model entry without a name.
    expect(p?.models[0]).toMatchObject({ id: "claude-x", name: "claude-x" });
  });

  it("limits runs and tools and turns off what an on-demand runtime cannot use", () => {
    const cfg = buildOpenClawConfig(base, { stateDir: "/s" }) as Cfg;
    expect(cfg.agents.defaults.timeoutSeconds).toBe(300);
    expect(cfg.tools.exec.timeoutSeconds).toBeLessThanOrEqual(300);
    expect(cfg.tools.loopDetection.enabled).toBe(true);
    expect(cfg.update.checkOnStart).toBe(false);
    expect(cfg.cron.enabled).toBe(false);
    expect(cfg.plugins.allow).toContain("memory-core");
  });

  it("refuses an OpenAI-compatible provider without a base URL", () => {
    expect(() => buildOpenClawConfig({ ...base, provider: "openai-compatible" }, { stateDir: "/s" })).toThrow(
      /base URL/,
    );
  });
});

describe("writeOpenClawConfig", () => {
  it("writes the config with the key readable by the owner only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "oc-config-"));
    dirs.push(dir);
    const path = await writeOpenClawConfig(base, { stateDir: dir });
    expect(path).toBe(join(dir, "openclaw.json"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(await readFile(path, "utf8")) as Cfg;
    expect(cfg.models.providers.anthropic?.apiKey).toBe("sk-ant-test");
    // A rewrite (settings change) replaces the key and keeps the mode.
    await writeOpenClawConfig({ ...base, apiKey: "sk-ant-new" }, { stateDir: dir });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).not.toContain("sk-ant-test");
  });
});
