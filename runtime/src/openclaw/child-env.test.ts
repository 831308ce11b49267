import { describe, expect, it } from "vitest";
import { buildChildEnv } from "./child-env";

const parent = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/app",
  LANG: "C.UTF-8",
  TZ: "UTC",
  AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "secret",
  AWS_SESSION_TOKEN: "token",
  AWS_REGION: "eu-west-1",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "x",
  ECS_CONTAINER_METADATA_URI: "http://169.254.170.2/v3/x",
  ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/x",
  TELEGRAM_BOT_TOKEN: "123:abc",
  ANTHROPIC_API_KEY: "sk-ant",
  OPENAI_API_KEY: "sk-openai",
  RUNTIME_USER_ID: "user-1",
  TABLE_NAME: "app",
  NODE_OPTIONS: "--inspect",
};

const options = { stateDir: "/state", configPath: "/state/openclaw.json", compileCacheDir: "/cache" };

describe("buildChildEnv", () => {
  it("passes only allowlisted basics and never credentials, tokens or keys", () => {
    const env = buildChildEnv(parent, options);
    expect(Object.keys(env).filter((k) => /^AWS_|^ECS_/.test(k))).toEqual([]);
    expect(env.TELEGRAM_BOT_TOKEN).toBeUndefined();
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.RUNTIME_USER_ID).toBeUndefined();
    expect(env.TABLE_NAME).toBeUndefined();
    // NODE_OPTIONS could inject code or a debugger into OpenClaw.
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env.PATH).toBe("/usr/bin:/bin");
    expect(env.LANG).toBe("C.UTF-8");
    expect(env.TZ).toBe("UTC");
  });

  it("points OpenClaw at its state and config and keeps it quiet and offline-safe", () => {
    const env = buildChildEnv(parent, options);
    expect(env).toMatchObject({
      OPENCLAW_HOME: "/state",
      OPENCLAW_STATE_DIR: "/state",
      OPENCLAW_CONFIG_PATH: "/state/openclaw.json",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      DO_NOT_TRACK: "1",
      OPENCLAW_DISABLE_BONJOUR: "1",
      OPENCLAW_SKIP_CHANNELS: "1",
      OPENCLAW_NO_RESPAWN: "1",
      NODE_COMPILE_CACHE: "/cache",
    });
  });

  it("filters secrets out of the extra variables too", () => {
    const env = buildChildEnv(parent, {
      ...options,
      extra: {
        OPENCLAW_DIAGNOSTICS: "timeline",
        AWS_PROFILE: "admin",
        MY_BOT_TOKEN: "x",
        HOME: "/state/home",
      },
    });
    expect(env.OPENCLAW_DIAGNOSTICS).toBe("timeline");
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.MY_BOT_TOKEN).toBeUndefined();
    expect(env.HOME).toBe("/state/home");
  });
});
