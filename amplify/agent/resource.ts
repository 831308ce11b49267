import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerImageBuild } from "@cdklabs/deploy-time-build";
import { Arn, ArnFormat, Duration, Fn, IgnoreMode, RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  GatewayVpcEndpointAwsService,
  IpAddresses,
  SecurityGroup,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { Repository, TagStatus } from "aws-cdk-lib/aws-ecr";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import {
  Cluster,
  type ContainerDefinition,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateTaskDefinition,
  LinuxParameters,
  LogDrivers,
  OperatingSystemFamily,
} from "aws-cdk-lib/aws-ecs";
import { type IRole, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** The container's name in the task definition; RunTask overrides address it by this name. */
export const RUNTIME_CONTAINER_NAME = "runtime";

export interface AgentProps {
  /** CPU units (1024 = 1 vCPU) and memory (MiB) of one runtime task. */
  cpu: number;
  memoryMiB: number;
  /** `codebuild`: build the image in CodeBuild at deploy time; `docker`: build it here as a CDK asset. */
  imageBuild: "codebuild" | "docker";
  /** Docker build context (the repository root: the runtime reuses lib/). */
  imageContext: string;
  /** Dockerfile path relative to the context. */
  dockerfile: string;
  logRetentionDays: RetentionDays;
  /** Non-secret configuration for the runtime (names and endpoints; secrets come from SSM at run time). */
  environment: Record<string, string>;
}

/** Never upload these, whatever an ignore file says: secrets, local state and build output. */
const ALWAYS_EXCLUDE = [
  ".git",
  "**/node_modules",
  ".local",
  ".env",
  ".env.*",
  "amplify_outputs.json",
  "cdk.out",
  ".amplify",
  ".next",
  ".open-next",
  "test-results",
  "**/*.test.ts",
];

/** Used when the runtime ships no ignore file: only what an image of the runtime can need. */
const DEFAULT_CONTEXT = ["*", "!lib", "!runtime", "!package.json", "!package-lock.json", "!tsconfig.json"];

/**
 * The build context filter: `<dockerfile>.dockerignore`, else the context's `.dockerignore`,
 * else a whitelist of lib/ and runtime/; then ALWAYS_EXCLUDE on top.
 */
export function imageExcludes(context: string, dockerfile: string): string[] {
  const candidates = [join(context, `${dockerfile}.dockerignore`), join(context, ".dockerignore")];
  const file = candidates.find((f) => existsSync(f));
  const base = file
    ? readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"))
    : DEFAULT_CONTEXT;
  return [...base, ...ALWAYS_EXCLUDE];
}

/**
 * Where the per-user runtimes run, and nothing that bills while idle: a VPC with public
 * subnets only (no NAT gateway, no interface endpoints; the free S3 and DynamoDB gateway
 * endpoints), a security group without ingress, an ECS cluster whose default strategy is
 * Fargate Spot, and an ARM64 task definition. Tasks get a public IP (about $0.005/hour while
 * running) to reach the LLM provider, Telegram and AWS APIs.
 */
export class Agent extends Construct {
  readonly vpc: Vpc;
  readonly securityGroup: SecurityGroup;
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly logGroup: LogGroup;
  readonly containerName = RUNTIME_CONTAINER_NAME;
  /**
   * Where the runtime keeps OpenClaw state in the bucket (`users/<sub>/openclaw/...`,
   * runtime/src/runner/state-sync.ts); the task role gets objects under it only.
   */
  static readonly STATE_PREFIX = "users/";
  private readonly container: ContainerDefinition;

  constructor(scope: Construct, id: string, props: AgentProps) {
    super(scope, id);

    this.vpc = new Vpc(this, "Vpc", {
      ipAddresses: IpAddresses.cidr("10.42.0.0/16"),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: {
        S3: { service: GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
      },
      restrictDefaultSecurityGroup: true,
    });

    this.securityGroup = new SecurityGroup(this, "TaskSecurityGroup", {
      vpc: this.vpc,
      description: "OpenClaw runtime tasks: no inbound port, outbound to the LLM provider, Telegram and AWS",
      allowAllOutbound: true,
    });

    this.cluster = new Cluster(this, "Cluster", {
      vpc: this.vpc,
      enableFargateCapacityProviders: true,
      // Container Insights bills per metric while tasks run; the log group is enough here.
      containerInsightsV2: ContainerInsights.DISABLED,
    });
    // Spot first: up to 70% cheaper. ECS does not fall back by itself when Spot has no
    // capacity; the launcher retries RunTask with FARGATE (weight 0 here, so never by default).
    this.cluster.addDefaultCapacityProviderStrategy([
      { capacityProvider: "FARGATE_SPOT", weight: 1 },
      { capacityProvider: "FARGATE", weight: 0 },
    ]);

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskDefinition = new FargateTaskDefinition(this, "Task", {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });

    this.container = this.taskDefinition.addContainer("Runtime", {
      containerName: RUNTIME_CONTAINER_NAME,
      image: this.image(props),
      essential: true,
      environment: props.environment,
      logging: LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: "runtime" }),
      // Fargate's maximum: time for the runtime to snapshot OpenClaw's state on SIGTERM
      // (scale-in, Spot interruption, watchdog stop).
      stopTimeout: Duration.seconds(120),
      // An init process reaps the shells and browsers OpenClaw's tools leave behind.
      linuxParameters: new LinuxParameters(this, "Linux", { initProcessEnabled: true }),
    });
  }

  private image(props: AgentProps): ContainerImage {
    const exclude = imageExcludes(props.imageContext, props.dockerfile);
    if (props.imageBuild === "docker") {
      if (!existsSync(join(props.imageContext, props.dockerfile)))
        throw new Error(`runtime Dockerfile not found: ${join(props.imageContext, props.dockerfile)}`);
      return ContainerImage.fromAsset(props.imageContext, {
        file: props.dockerfile,
        platform: Platform.LINUX_ARM64,
        exclude,
        ignoreMode: IgnoreMode.DOCKER,
      });
    }
    // Old images would bill storage ($0.10/GB-month) forever: keep the last three.
    const repository = new Repository(this, "Repository", {
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      imageScanOnPush: true,
      lifecycleRules: [{ tagStatus: TagStatus.ANY, maxImageCount: 3 }],
    });
    const build = new ContainerImageBuild(this, "Image", {
      directory: props.imageContext,
      file: props.dockerfile,
      platform: Platform.LINUX_ARM64,
      exclude,
      ignoreMode: IgnoreMode.DOCKER,
      repository,
    });
    return build.toEcsDockerImageCode();
  }

  /** The task role the runtime's AWS calls use. */
  get taskRole(): IRole {
    return this.taskDefinition.taskRole;
  }

  /** Adds what the runtime may do (on top of nothing: the task role starts empty). */
  grantRuntime(statements: PolicyStatement[]): void {
    for (const s of statements) this.taskDefinition.addToTaskRolePolicy(s);
  }

  /** More non-secret configuration for the container (values that depend on this construct). */
  addRuntimeEnvironment(env: Record<string, string>): void {
    for (const [k, v] of Object.entries(env)) this.container.addEnvironment(k, v);
  }

  /** Comma-separated public subnet ids, as ECS_SUBNETS expects. */
  get subnetIds(): string {
    return Fn.join(
      ",",
      this.vpc.publicSubnets.map((s) => s.subnetId),
    );
  }

  /**
   * What the server needs to start, watch and stop runtimes on THIS cluster: RunTask of this
   * task family only, StopTask/DescribeTasks of this cluster's tasks, and PassRole of the
   * task's two roles to ECS tasks only.
   */
  launchStatements(): PolicyStatement[] {
    const stack = Stack.of(this);
    const onCluster = { ArnEquals: { "ecs:cluster": this.cluster.clusterArn } };
    const familyArn = Arn.format(
      {
        service: "ecs",
        resource: "task-definition",
        resourceName: `${this.taskDefinition.family}:*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
    const statements = [
      new PolicyStatement({ actions: ["ecs:RunTask"], resources: [familyArn], conditions: onCluster }),
      new PolicyStatement({
        actions: ["ecs:StopTask", "ecs:DescribeTasks"],
        resources: [this.taskArns()],
        conditions: onCluster,
      }),
      // RunTask with tags (user id, for the console and the watchdog) needs TagResource on the new task.
      new PolicyStatement({
        actions: ["ecs:TagResource"],
        resources: [this.taskArns()],
        conditions: { StringEquals: { "ecs:CreateAction": "RunTask" } },
      }),
      new PolicyStatement({
        actions: ["iam:PassRole"],
        resources: this.passedRoleArns(),
        conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      }),
    ];
    return statements;
  }

  /** `arn:...:task/<cluster>/*`: the tasks of this cluster. */
  taskArns(): string {
    return Arn.format(
      {
        service: "ecs",
        resource: "task",
        resourceName: `${this.cluster.clusterName}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  private passedRoleArns(): string[] {
    const roles = [this.taskDefinition.taskRole.roleArn];
    const execution = this.taskDefinition.executionRole;
    if (execution) roles.push(execution.roleArn);
    return roles;
  }
}
