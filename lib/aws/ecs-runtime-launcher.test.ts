import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { EcsRuntimeLauncher } from "./ecs-runtime-launcher";

const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

const arn = "arn:aws:ecs:eu-west-1:123456789012:task/openclaw/0123456789abcdef";
const userId = "3f1c2a9e-0000-4000-8000-000000000001";

function launcher(): EcsRuntimeLauncher {
  return new EcsRuntimeLauncher({
    client: new ECSClient({ region: "eu-west-1" }),
    cluster: "openclaw",
    taskDefinition: "openclaw-runtime:7",
    containerName: "runtime",
    subnets: ["subnet-a", "subnet-b"],
    securityGroups: ["sg-noingress"],
  });
}

describe("EcsRuntimeLauncher.launch", () => {
  it("runs one task on Fargate Spot with a public IP, the given network and the user id override", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: arn }], failures: [] });
    await expect(launcher().launch(userId)).resolves.toEqual({ taskRef: arn });
    const calls = ecs.commandCalls(RunTaskCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      cluster: "openclaw",
      taskDefinition: "openclaw-runtime:7",
      count: 1,
      capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-a", "subnet-b"],
          securityGroups: ["sg-noingress"],
          assignPublicIp: "ENABLED",
        },
      },
      overrides: {
        containerOverrides: [{ name: "runtime", environment: [{ name: "RUNTIME_USER_ID", value: userId }] }],
      },
    });
    // A launch type and a capacity provider strategy are mutually exclusive in RunTask.
    expect(calls[0]?.args[0].input.launchType).toBeUndefined();
  });

  it("falls back to on-demand Fargate when Spot reports no capacity", async () => {
    ecs
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] })
      .resolves({
        tasks: [],
        failures: [
          {
            reason:
              "Capacity is unavailable at this time. Please try again later or in a different availability zone",
          },
        ],
      })
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] })
      .resolves({ tasks: [{ taskArn: arn }] });
    await expect(launcher().launch(userId)).resolves.toEqual({ taskRef: arn });
    const strategies = ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input.capacityProviderStrategy);
    expect(strategies).toEqual([
      [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      [{ capacityProvider: "FARGATE", weight: 1 }],
    ]);
  });

  it("also falls back when the Spot attempt throws a capacity error", async () => {
    ecs
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] })
      .rejects(new Error("Capacity is unavailable at this time"))
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] })
      .resolves({ tasks: [{ taskArn: arn }] });
    await expect(launcher().launch(userId)).resolves.toEqual({ taskRef: arn });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
  });

  it("does not fall back on other failures, and names the reason", async () => {
    ecs
      .on(RunTaskCommand)
      .resolves({ tasks: [], failures: [{ reason: "ACCESS_DENIED", detail: "no iam:PassRole" }] });
    await expect(launcher().launch(userId)).rejects.toThrow(/ACCESS_DENIED: no iam:PassRole/);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it("fails when on-demand has no capacity either", async () => {
    ecs
      .on(RunTaskCommand)
      .resolves({ tasks: [], failures: [{ reason: "Capacity is unavailable at this time" }] });
    await expect(launcher().launch(userId)).rejects.toThrow(/started no task/);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
  });
});

describe("EcsRuntimeLauncher.isAlive and stop", () => {
  it("is alive while the task is pending or running", async () => {
    ecs
      .on(DescribeTasksCommand)
      .resolves({ tasks: [{ taskArn: arn, lastStatus: "RUNNING", desiredStatus: "RUNNING" }] });
    await expect(launcher().isAlive(arn)).resolves.toBe(true);
    expect(ecs.commandCalls(DescribeTasksCommand)[0]?.args[0].input).toEqual({
      cluster: "openclaw",
      tasks: [arn],
    });
  });

  it.each([
    [{ lastStatus: "STOPPED", desiredStatus: "STOPPED" }],
    [{ lastStatus: "RUNNING", desiredStatus: "STOPPED" }],
    [{ lastStatus: "DEPROVISIONING", desiredStatus: "STOPPED" }],
  ])("is not alive when %o", async (status) => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: arn, ...status }] });
    await expect(launcher().isAlive(arn)).resolves.toBe(false);
  });

  it("is not alive when ECS no longer knows the task", async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn, reason: "MISSING" }] });
    await expect(launcher().isAlive(arn)).resolves.toBe(false);
  });

  it("stops the task with a reason ECS accepts", async () => {
    ecs.on(StopTaskCommand).resolves({});
    await launcher().stop(arn, "x".repeat(300));
    const input = ecs.commandCalls(StopTaskCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ cluster: "openclaw", task: arn });
    expect(input?.reason).toHaveLength(255);
  });
});
