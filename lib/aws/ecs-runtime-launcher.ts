import {
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
  type RunTaskCommandInput,
  type RunTaskCommandOutput,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import type { LaunchResult, RuntimeLauncher } from "../ports";

export interface EcsRuntimeLauncherOptions {
  client?: ECSClient;
  region?: string;
  cluster: string;
  taskDefinition: string;
  /** The runtime container's name in the task definition (environment overrides go there). */
  containerName: string;
  /** Public subnets: the task gets a public IP instead of a NAT gateway. */
  subnets: string[];
  /** A security group with no ingress. */
  securityGroups: string[];
}

/** Reasons ECS gives when Fargate Spot has no capacity right now. */
const NO_CAPACITY = /capacity is unavailable|insufficient capacity|no spot capacity|RESOURCE:FARGATE/i;

/**
 * Starts a user's runtime as a Fargate task: Spot first (about 70 % cheaper), on-demand
 * Fargate when Spot has no capacity. The task gets a public IP (no NAT gateway to pay
 * for) and no inbound rule; the user id goes in as a container environment override.
 */
export class EcsRuntimeLauncher implements RuntimeLauncher {
  private readonly client: ECSClient;

  constructor(private readonly opts: EcsRuntimeLauncherOptions) {
    if (opts.subnets.length === 0) throw new Error("EcsRuntimeLauncher needs at least one subnet");
    this.client = opts.client ?? new ECSClient(opts.region ? { region: opts.region } : {});
  }

  async launch(userId: string): Promise<LaunchResult> {
    try {
      const spot = await this.client.send(new RunTaskCommand(this.input(userId, "FARGATE_SPOT")));
      const arn = taskArn(spot);
      if (arn) return { taskRef: arn };
      if (!noCapacity(spot)) throw launchError(spot);
    } catch (err) {
      if (!(err instanceof Error) || !NO_CAPACITY.test(err.message)) throw err;
    }
    const onDemand = await this.client.send(new RunTaskCommand(this.input(userId, "FARGATE")));
    const arn = taskArn(onDemand);
    if (!arn) throw launchError(onDemand);
    return { taskRef: arn };
  }

  async isAlive(taskRef: string): Promise<boolean> {
    const res = await this.client.send(
      new DescribeTasksCommand({ cluster: this.opts.cluster, tasks: [taskRef] }),
    );
    const task = res.tasks?.[0];
    if (!task) return false; // failures: MISSING (stopped tasks disappear after about an hour)
    return (
      task.desiredStatus !== "STOPPED" &&
      task.lastStatus !== "STOPPED" &&
      task.lastStatus !== "DEPROVISIONING"
    );
  }

  async stop(taskRef: string, reason: string): Promise<void> {
    await this.client.send(
      new StopTaskCommand({ cluster: this.opts.cluster, task: taskRef, reason: reason.slice(0, 255) }),
    );
  }

  private input(userId: string, capacityProvider: "FARGATE_SPOT" | "FARGATE"): RunTaskCommandInput {
    return {
      cluster: this.opts.cluster,
      taskDefinition: this.opts.taskDefinition,
      count: 1,
      capacityProviderStrategy: [{ capacityProvider, weight: 1 }],
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: this.opts.subnets,
          securityGroups: this.opts.securityGroups,
          assignPublicIp: "ENABLED",
        },
      },
      overrides: {
        containerOverrides: [
          { name: this.opts.containerName, environment: [{ name: "RUNTIME_USER_ID", value: userId }] },
        ],
      },
      startedBy: `user-${userId}`.slice(0, 36),
      propagateTags: "TASK_DEFINITION",
    };
  }
}

function taskArn(res: RunTaskCommandOutput): string | undefined {
  return res.tasks?.[0]?.taskArn;
}

function noCapacity(res: RunTaskCommandOutput): boolean {
  return (res.failures ?? []).some((f) => NO_CAPACITY.test(`${f.reason ?? ""} ${f.detail ?? ""}`));
}

function launchError(res: RunTaskCommandOutput): Error {
  const reasons = (res.failures ?? []).map((f) => [f.reason, f.detail].filter(Boolean).join(": ")).join("; ");
  return new Error(`ECS RunTask started no task${reasons ? `: ${reasons}` : ""}`);
}
