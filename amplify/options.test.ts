import { describe, expect, it } from "vitest";
import { parameterPrefix } from "./identity";
import { readDeployOptions } from "./options";

describe("readDeployOptions", () => {
  it("keeps data safe outside the sandbox and throwaway inside it", () => {
    const deployed = readDeployOptions({}, "branch");
    expect(deployed).toMatchObject({
      sandbox: false,
      task: { cpu: 1024, memoryMiB: 2048 },
      imageBuild: "codebuild",
      logRetentionDays: 14,
      table: { pointInTimeRecovery: true, deletionProtection: true },
      retainData: true,
      watchdog: { everyMinutes: 5, idleGraceMinutes: 10 },
      mfa: "optional",
    });
    expect(readDeployOptions({}, "sandbox")).toMatchObject({
      sandbox: true,
      table: { pointInTimeRecovery: false, deletionProtection: false },
      retainData: false,
    });
  });

  it("reads every option from OPENCLAW_* variables", () => {
    const o = readDeployOptions(
      {
        OPENCLAW_TASK_CPU: "2048",
        OPENCLAW_TASK_MEMORY: "4096",
        OPENCLAW_IMAGE_BUILD: "docker",
        OPENCLAW_LOG_RETENTION_DAYS: "30",
        OPENCLAW_TABLE_PITR: "false",
        OPENCLAW_TABLE_DELETION_PROTECTION: "0",
        OPENCLAW_RETAIN_DATA: "false",
        OPENCLAW_WATCHDOG_MINUTES: "10",
        OPENCLAW_IDLE_GRACE_MINUTES: "0",
        OPENCLAW_MFA: "required",
      },
      "standalone",
    );
    expect(o).toMatchObject({
      task: { cpu: 2048, memoryMiB: 4096 },
      imageBuild: "docker",
      logRetentionDays: 30,
      table: { pointInTimeRecovery: false, deletionProtection: false },
      retainData: false,
      watchdog: { everyMinutes: 10, idleGraceMinutes: 0 },
      mfa: "required",
    });
  });

  it.each([
    [{ OPENCLAW_TASK_CPU: "1000" }, /OPENCLAW_TASK_CPU/],
    [{ OPENCLAW_TASK_CPU: "1024", OPENCLAW_TASK_MEMORY: "1024" }, /OPENCLAW_TASK_MEMORY 1024 is not valid/],
    [{ OPENCLAW_IMAGE_BUILD: "podman" }, /OPENCLAW_IMAGE_BUILD/],
    [{ OPENCLAW_LOG_RETENTION_DAYS: "10" }, /OPENCLAW_LOG_RETENTION_DAYS/],
    [{ OPENCLAW_TABLE_PITR: "yes" }, /OPENCLAW_TABLE_PITR/],
    [{ OPENCLAW_WATCHDOG_MINUTES: "0" }, /OPENCLAW_WATCHDOG_MINUTES/],
  ])("rejects %o", (env, message) => {
    expect(() => readDeployOptions(env, "branch")).toThrow(message);
  });
});

describe("parameterPrefix", () => {
  it("builds a valid SSM path from the backend identifier, whatever the branch is called", () => {
    expect(parameterPrefix({ namespace: "d1abc", name: "main", type: "branch" })).toBe(
      "/serverless-openclaw/d1abc/main",
    );
    const odd = parameterPrefix({ namespace: "My App", name: "feature/Login_2", type: "sandbox" });
    expect(odd).toBe("/serverless-openclaw/my-app/feature-login-2");
    // The SSM secret store's own check (lib/aws/ssm-secret-store.ts).
    expect(odd).toMatch(/^(\/[A-Za-z0-9_.-]+)+$/);
  });
});
