import { z } from "zod";

/*
 * Deploy-time options of the backend. `ampx sandbox` and `ampx deploy` pass no CDK context
 * of ours, so the deployer sets these as environment variables of the deploy (or in the
 * Amplify console's build settings). This is the only file under amplify/ that reads
 * process.env; lib/env.ts stays the only reader for the app and the runtime
 * (docs/adr/0003-aws-backend.md).
 */

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = z.coerce.number().int();

/** Fargate's valid CPU/memory pairs (MiB) for the sizes a personal agent could use. */
const FARGATE_MEMORY: Record<number, number[]> = {
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: [4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384],
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

/** CloudWatch Logs retention values the API accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];

const envSchema = z.object({
  /** vCPU units of the runtime task (1024 = 1 vCPU). */
  OPENCLAW_TASK_CPU: int.optional(),
  /** Memory of the runtime task in MiB. */
  OPENCLAW_TASK_MEMORY: int.optional(),
  /** `codebuild`: build the runtime image at deploy time in CodeBuild (no local Docker needed). `docker`: build it locally as a CDK asset. */
  OPENCLAW_IMAGE_BUILD: z.enum(["codebuild", "docker"]).optional(),
  OPENCLAW_LOG_RETENTION_DAYS: int.optional(),
  /** Point-in-time recovery of the table (about $0.20 per GB-month). Default: on outside the sandbox. */
  OPENCLAW_TABLE_PITR: bool.optional(),
  /** Deletion protection of the table. Default: on outside the sandbox. */
  OPENCLAW_TABLE_DELETION_PROTECTION: bool.optional(),
  /** Keep the table and the bucket when the stack is deleted. Default: on outside the sandbox. */
  OPENCLAW_RETAIN_DATA: bool.optional(),
  /** How often the watchdog runs, in minutes. */
  OPENCLAW_WATCHDOG_MINUTES: int.optional(),
  /** Extra minutes past a runtime's own idle timeout before the watchdog stops it. */
  OPENCLAW_IDLE_GRACE_MINUTES: int.optional(),
  /** TOTP multi-factor sign-in: off, optional or required. */
  OPENCLAW_MFA: z.enum(["off", "optional", "required"]).optional(),
});

export interface DeployOptions {
  /** True for `ampx sandbox`: throwaway data, nothing retained. */
  sandbox: boolean;
  task: { cpu: number; memoryMiB: number };
  imageBuild: "codebuild" | "docker";
  logRetentionDays: number;
  table: { pointInTimeRecovery: boolean; deletionProtection: boolean };
  retainData: boolean;
  watchdog: { everyMinutes: number; idleGraceMinutes: number };
  mfa: "off" | "optional" | "required";
}

/** The deploy options of this process (see readDeployOptions). */
export function deployOptions(deploymentType?: string): DeployOptions {
  return readDeployOptions(process.env, deploymentType);
}

/**
 * Reads and validates the deploy options. Throws a message naming the bad variable, so a
 * typo fails the synth instead of silently deploying the default.
 */
export function readDeployOptions(
  env: Record<string, string | undefined>,
  /** `sandbox` switches the data-safety defaults off; others (or none) keep them on. */
  deploymentType?: string,
): DeployOptions {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid deploy option: ${issues}`);
  }
  const e = parsed.data;
  const sandbox = deploymentType === "sandbox";
  const cpu = e.OPENCLAW_TASK_CPU ?? 1024;
  const memoryMiB = e.OPENCLAW_TASK_MEMORY ?? 2048;
  const allowed = FARGATE_MEMORY[cpu];
  if (!allowed)
    throw new Error(`invalid deploy option: OPENCLAW_TASK_CPU must be one of 512, 1024, 2048, 4096`);
  if (!allowed.includes(memoryMiB))
    throw new Error(
      `invalid deploy option: OPENCLAW_TASK_MEMORY ${memoryMiB} is not valid with ${cpu} CPU units (${allowed[0]}-${allowed.at(-1)} MiB in 1024 steps)`,
    );
  const logRetentionDays = e.OPENCLAW_LOG_RETENTION_DAYS ?? 14;
  if (!RETENTION_DAYS.includes(logRetentionDays))
    throw new Error(
      `invalid deploy option: OPENCLAW_LOG_RETENTION_DAYS must be one of ${RETENTION_DAYS.join(", ")}`,
    );
  const everyMinutes = e.OPENCLAW_WATCHDOG_MINUTES ?? 5;
  if (everyMinutes < 1 || everyMinutes > 60)
    throw new Error("invalid deploy option: OPENCLAW_WATCHDOG_MINUTES must be 1-60");
  const idleGraceMinutes = e.OPENCLAW_IDLE_GRACE_MINUTES ?? 10;
  if (idleGraceMinutes < 0 || idleGraceMinutes > 240)
    throw new Error("invalid deploy option: OPENCLAW_IDLE_GRACE_MINUTES must be 0-240");
  return {
    sandbox,
    task: { cpu, memoryMiB },
    imageBuild: e.OPENCLAW_IMAGE_BUILD ?? "codebuild",
    logRetentionDays,
    table: {
      pointInTimeRecovery: e.OPENCLAW_TABLE_PITR ?? !sandbox,
      deletionProtection: e.OPENCLAW_TABLE_DELETION_PROTECTION ?? !sandbox,
    },
    retainData: e.OPENCLAW_RETAIN_DATA ?? !sandbox,
    watchdog: { everyMinutes, idleGraceMinutes },
    mfa: e.OPENCLAW_MFA ?? "optional",
  };
}
