import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { WatchdogInput } from "./handler";

export interface WatchdogProps {
  tableName: string;
  /**
   * `arn:.../table/<name>`; the function queries gsi1 (active task rows, queued work), reads
   * task-state and settings rows, and writes task-state rows only.
   */
  tableArn: string;
  clusterArn: string;
  /** `arn:...:task/<cluster>/*` */
  taskArns: string;
  everyMinutes: number;
  idleGraceMinutes: number;
  logRetentionDays: RetentionDays;
  /** How to start a runtime for queued work, and the permissions that takes (the agent's launchStatements). */
  launch: WatchdogInput["launch"] & { statements: PolicyStatement[] };
}

/**
 * A small Lambda on an EventBridge schedule that reconciles task-state rows with the
 * cluster's tasks and the users' queued work (reconcile.ts). Scheduled rules and a few thousand short invocations a
 * month cost nothing in practice; nothing here bills while idle.
 */
export class Watchdog extends Construct {
  readonly fn: NodejsFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: WatchdogProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole (logs:* on every log group).
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "serverless-openclaw watchdog",
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [`${logGroup.logGroupArn}`],
      }),
    );
    this.fn = new NodejsFunction(this, "Function", {
      role,
      entry: fileURLToPath(new URL("./handler.ts", import.meta.url)),
      handler: "handler",
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      logGroup,
      description:
        "Stops idle or orphaned OpenClaw runtimes, clears task-state rows whose task is gone, and starts a runtime for queued work nobody answers",
      bundling: {
        format: OutputFormat.CJS,
        target: "node24",
        // Bundle the SDK clients too: the versions the tests ran, not whatever Lambda ships.
        externalModules: [],
        minify: true,
        sourceMap: false,
      },
    });

    role.addToPolicy(
      new PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${props.tableArn}/index/gsi1`] }),
    );
    role.addToPolicy(
      new PolicyStatement({ actions: ["dynamodb:GetItem", "dynamodb:PutItem"], resources: [props.tableArn] }),
    );
    for (const statement of props.launch.statements) role.addToPolicy(statement);
    const onCluster = { ArnEquals: { "ecs:cluster": props.clusterArn } };
    // ListTasks has no resource-level permission; the condition pins it to this cluster.
    role.addToPolicy(
      new PolicyStatement({ actions: ["ecs:ListTasks"], resources: ["*"], conditions: onCluster }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ["ecs:DescribeTasks", "ecs:StopTask"],
        resources: [props.taskArns],
        conditions: onCluster,
      }),
    );

    const { statements: _s, ...launch } = props.launch;
    const input: WatchdogInput = {
      tableName: props.tableName,
      cluster: props.clusterArn,
      idleGraceMinutes: props.idleGraceMinutes,
      launch,
    };
    this.rule = new Rule(this, "Schedule", {
      schedule: Schedule.rate(Duration.minutes(props.everyMinutes)),
      targets: [new LambdaFunction(this.fn, { event: RuleTargetInput.fromObject(input), retryAttempts: 0 })],
    });
  }
}
