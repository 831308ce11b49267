import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PolicyValidationPluginReport, Stack, Stage } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLE } from "../lib/contracts/table";
import { assessTemplates, readTemplates } from "./cost";
import { applyNagAcknowledgements, type NagAcceptance } from "./nag";
import { buildChatHandlerCode } from "./realtime/handler-code";

/*
 * Offline synthesis of the whole backend, done once for this file: importing
 * @aws-amplify/backend alone takes 10-30 s here. Every assertion reads the same templates.
 */

type StackName = "root" | "auth" | "storage" | "realtime" | "agent" | "watchdog" | "server";
type CfnResource = { Type: string; Properties?: Record<string, unknown>; Metadata?: unknown };
type CfnTemplate = { Resources: Record<string, CfnResource>; Outputs?: Record<string, { Value: unknown }> };

let outDir: string;
const t = {} as Record<StackName, Template>;
const json = {} as Record<StackName, CfnTemplate>;
let nag: {
  before: PolicyValidationPluginReport;
  after: PolicyValidationPluginReport;
  uncovered: { rule: string; path: string }[];
  unused: NagAcceptance[];
};

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "openclaw-backend-synth-"));
  process.env.CDK_CONTEXT_JSON = JSON.stringify({
    "amplify-backend-namespace": "testapp",
    "amplify-backend-name": "tester",
    "amplify-backend-type": "sandbox",
  });
  process.env.CDK_OUTDIR = outDir;
  for (const key of Object.keys(process.env)) if (key.startsWith("OPENCLAW_")) delete process.env[key];

  const { backend, stacks } = await import("./backend");
  const all: Record<StackName, Stack> = {
    root: backend.stack,
    auth: Stack.of(backend.auth.resources.userPool),
    ...stacks,
  };
  Stage.of(backend.stack)?.synth();
  for (const [name, stack] of Object.entries(all) as [StackName, Stack][]) {
    t[name] = Template.fromStack(stack);
    json[name] = t[name].toJSON() as CfnTemplate;
  }
  const before = new AwsSolutionsChecks().validateScope(backend.stack);
  const { uncovered, unused } = applyNagAcknowledgements(backend.stack, before);
  const after = new AwsSolutionsChecks().validateScope(backend.stack);
  nag = { before, after, uncovered, unused };
}, 300_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function resources(type: string, only?: StackName[]): [StackName, string, CfnResource][] {
  const out: [StackName, string, CfnResource][] = [];
  for (const [name, tpl] of Object.entries(json) as [StackName, CfnTemplate][]) {
    if (only && !only.includes(name)) continue;
    for (const [id, r] of Object.entries(tpl.Resources ?? {})) if (r.Type === type) out.push([name, id, r]);
  }
  return out;
}

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};

function statementsOf(r: CfnResource): Statement[] {
  const p = r.Properties ?? {};
  const docs: { Statement: Statement[] }[] = [];
  if (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy")
    docs.push(p.PolicyDocument as { Statement: Statement[] });
  if (r.Type === "AWS::IAM::Role")
    for (const pol of (p.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? [])
      docs.push(pol.PolicyDocument);
  return docs.flatMap((d) => d.Statement);
}

function allStatements(only?: StackName[]): { stack: StackName; id: string; s: Statement }[] {
  return ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"].flatMap((type) =>
    resources(type, only).flatMap(([stack, id, r]) => statementsOf(r).map((s) => ({ stack, id, s }))),
  );
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe("nothing bills by the hour while idle", () => {
  it("has no NAT gateway, load balancer, EC2 instance or always-on service", () => {
    for (const type of [
      "AWS::EC2::NatGateway",
      "AWS::ElasticLoadBalancingV2::LoadBalancer",
      "AWS::ElasticLoadBalancing::LoadBalancer",
      "AWS::EC2::Instance",
      "AWS::ECS::Service",
      "AWS::EC2::EIP",
    ])
      expect(resources(type), type).toEqual([]);
  });

  it("has only the free gateway endpoints (S3 and DynamoDB), no interface endpoint", () => {
    const endpoints = resources("AWS::EC2::VPCEndpoint");
    expect(endpoints).toHaveLength(2);
    for (const [, , r] of endpoints) {
      expect(r.Properties?.VpcEndpointType).toBe("Gateway");
      // Routed from the public subnets the tasks run in.
      expect(JSON.stringify(r.Properties?.RouteTableIds)).toMatch(
        /publicSubnet1RouteTable.*publicSubnet2RouteTable/,
      );
    }
    const services = JSON.stringify(endpoints.map(([, , r]) => r.Properties?.ServiceName));
    expect(services).toMatch(/\.s3/);
    expect(services).toMatch(/\.dynamodb/);
  });

  it("has public subnets only", () => {
    const subnets = resources("AWS::EC2::Subnet");
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const [, , r] of subnets)
      expect(r.Properties?.Tags).toEqual(
        expect.arrayContaining([{ Key: "aws-cdk:subnet-type", Value: "Public" }]),
      );
  });
});

describe("agent", () => {
  it("gives the task security group no ingress at all", () => {
    expect(resources("AWS::EC2::SecurityGroupIngress")).toEqual([]);
    const groups = resources("AWS::EC2::SecurityGroup", ["agent"]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.[2].Properties?.SecurityGroupIngress).toBeUndefined();
  });

  it("puts Fargate Spot first in the cluster's default capacity strategy, on-demand Fargate as the fallback", () => {
    t.agent.hasResourceProperties("AWS::ECS::ClusterCapacityProviderAssociations", {
      CapacityProviders: Match.arrayWith(["FARGATE", "FARGATE_SPOT"]),
      DefaultCapacityProviderStrategy: [
        { CapacityProvider: "FARGATE_SPOT", Weight: 1 },
        { CapacityProvider: "FARGATE", Weight: 0 },
      ],
    });
  });

  it("defines an ARM64 task of 1 vCPU / 2 GB whose container gets names, never secrets", () => {
    t.agent.hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: "1024",
      Memory: "2048",
      RuntimePlatform: { CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" },
      RequiresCompatibilities: ["FARGATE"],
    });
    const [[, , td]] = resources("AWS::ECS::TaskDefinition", ["agent"]) as [[StackName, string, CfnResource]];
    const [container] = (td.Properties?.ContainerDefinitions ?? []) as {
      Name: string;
      Environment: { Name: string }[];
      Secrets?: unknown;
      PortMappings?: unknown;
      LogConfiguration: { LogDriver: string };
    }[];
    expect(container?.Name).toBe("runtime");
    expect(container?.PortMappings).toBeUndefined();
    expect(container?.LogConfiguration.LogDriver).toBe("awslogs");
    expect(container?.Environment.map((e) => e.Name).sort()).toEqual(
      [
        "APP_MODE",
        "AWS_REGION",
        "BUCKET_NAME",
        "ECS_CLUSTER",
        "ECS_CONTAINER_NAME",
        "ECS_SECURITY_GROUPS",
        "ECS_SUBNETS",
        "ECS_TASK_DEFINITION",
        "EVENTS_HTTP_ENDPOINT",
        "EVENTS_REALTIME_ENDPOINT",
        "SSM_PREFIX",
        "TABLE_NAME",
        "USER_POOL_CLIENT_ID",
        "USER_POOL_ID",
      ].sort(),
    );
    expect(JSON.stringify(container?.Environment)).not.toMatch(/KEY|TOKEN|SECRET|PASSWORD/i);
  });

  it("builds the image in CodeBuild on ARM by default and keeps only three images", () => {
    t.agent.hasResourceProperties("AWS::ECR::Repository", {
      LifecyclePolicy: { LifecyclePolicyText: Match.stringLikeRegexp('"countNumber":3') },
    });
    t.agent.hasResourceProperties("AWS::CodeBuild::Project", {
      Environment: Match.objectLike({ Image: Match.stringLikeRegexp("aarch64") }),
    });
  });

  it("lets the task role reach only the table, its state prefix, its event namespaces and this app's parameters", () => {
    const taskRolePolicies = allStatements(["agent"]).filter(({ id }) => /TaskRoleDefaultPolicy/.test(id));
    const actions = taskRolePolicies.flatMap(({ s }) => actionsOf(s)).sort();
    expect(actions).not.toEqual(expect.arrayContaining(["ecs:RunTask"]));
    expect(actions.filter((a) => a.startsWith("iam:"))).toEqual([]);
    const s3 = taskRolePolicies.find(({ s }) => actionsOf(s).includes("s3:PutObject"));
    expect(JSON.stringify(s3?.s.Resource)).toMatch(/\/users\/\*"/);
    const subscribe = taskRolePolicies.find(({ s }) => actionsOf(s).includes("appsync:EventSubscribe"));
    expect(JSON.stringify(subscribe?.s.Resource)).toMatch(/channelNamespace\/agent"/);
    expect(JSON.stringify(subscribe?.s.Resource)).not.toMatch(/channelNamespace\/chat/);
    const ssm = taskRolePolicies.find(({ s }) => actionsOf(s).includes("ssm:GetParameter"));
    expect(actionsOf(ssm?.s as Statement)).not.toContain("ssm:PutParameter");
    expect(JSON.stringify(ssm?.s.Resource)).toMatch(/parameter\/serverless-openclaw\/testapp\/tester\/\*/);
  });
});

describe("realtime", () => {
  it("attaches the per-user onSubscribe handler, built from lib/contracts/channels.ts, to chat", () => {
    t.realtime.hasResourceProperties("AWS::AppSync::ChannelNamespace", {
      Name: "chat",
      CodeHandlers: buildChatHandlerCode(),
      SubscribeAuthModes: [{ AuthType: "AMAZON_COGNITO_USER_POOLS" }],
      PublishAuthModes: [{ AuthType: "AWS_IAM" }],
    });
    const chat = resources("AWS::AppSync::ChannelNamespace").find(([, , r]) => r.Properties?.Name === "chat");
    expect(String(chat?.[2].Properties?.CodeHandlers)).toMatch(/export \{\s*onSubscribe\s*\}/);
  });

  it("keeps agent closed to Cognito: IAM only, both ways", () => {
    t.realtime.hasResourceProperties("AWS::AppSync::ChannelNamespace", {
      Name: "agent",
      SubscribeAuthModes: [{ AuthType: "AWS_IAM" }],
      PublishAuthModes: [{ AuthType: "AWS_IAM" }],
    });
  });

  it("accepts Cognito and IAM, with IAM-only defaults for namespaces", () => {
    t.realtime.hasResourceProperties("AWS::AppSync::Api", {
      EventConfig: {
        AuthProviders: Match.arrayWith([
          { AuthType: "AWS_IAM" },
          Match.objectLike({ AuthType: "AMAZON_COGNITO_USER_POOLS" }),
        ]),
        ConnectionAuthModes: [{ AuthType: "AWS_IAM" }, { AuthType: "AMAZON_COGNITO_USER_POOLS" }],
        DefaultPublishAuthModes: [{ AuthType: "AWS_IAM" }],
        DefaultSubscribeAuthModes: [{ AuthType: "AWS_IAM" }],
      },
    });
  });
});

describe("auth", () => {
  it("turns self sign-up off, guest identities off, and requires 12-character passwords", () => {
    t.auth.hasResourceProperties("AWS::Cognito::UserPool", {
      AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
      Policies: Match.objectLike({ PasswordPolicy: Match.objectLike({ MinimumLength: 12 }) }),
      UsernameAttributes: ["email"],
    });
    t.auth.hasResourceProperties("AWS::Cognito::IdentityPool", { AllowUnauthenticatedIdentities: false });
  });
});

describe("storage", () => {
  it("creates ONE on-demand table shaped by lib/contracts/table.ts, with TTL", () => {
    expect(resources("AWS::DynamoDB::Table", ["storage"])).toHaveLength(1);
    t.storage.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
      ],
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: TABLE.indexes.map((i) =>
        Match.objectLike({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: "HASH" },
            { AttributeName: i.sortKey, KeyType: "RANGE" },
          ],
        }),
      ),
    });
  });

  it("keeps the bucket private, encrypted, TLS-only and pruned by lifecycle rules", () => {
    t.storage.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
    t.storage.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });
});

describe("permissions", () => {
  it("scopes iam:PassRole to the task's two roles, passed to ECS tasks only", () => {
    const passRole = allStatements().filter(({ s }) => actionsOf(s).includes("iam:PassRole"));
    const ours = passRole.filter(({ stack }) => stack === "server");
    expect(ours).toHaveLength(1);
    const s = ours[0]?.s as Statement;
    expect(s.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
    const arns = JSON.stringify(s.Resource);
    expect(resourcesOf(s)).toHaveLength(2);
    expect(arns).toMatch(/TaskRole/);
    expect(arns).toMatch(/ExecutionRole/);
    for (const { s: other } of passRole) expect(resourcesOf(other)).not.toContain("*");
  });

  it("gives the server RunTask of the runtime family on this cluster, and publish-only events", () => {
    const server = allStatements(["server"]).map(({ s }) => s);
    const runTask = server.find((s) => actionsOf(s).includes("ecs:RunTask"));
    expect(JSON.stringify(runTask?.Resource)).toMatch(/task-definition\/.*AgentTask.*:\*/);
    expect(runTask?.Condition).toHaveProperty("ArnEquals");
    const events = server.filter((s) => actionsOf(s).some((a) => a.startsWith("appsync:")));
    expect(events.flatMap(actionsOf)).toEqual(["appsync:EventPublish"]);
    expect(JSON.stringify(events)).toMatch(/channelNamespace\/chat/);
    expect(JSON.stringify(events)).toMatch(/channelNamespace\/agent/);
    expect(server.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(["ssm:PutParameter", "dynamodb:Query", "ecs:StopTask", "ecs:DescribeTasks"]),
    );
  });

  it("uses a * resource only for actions that have no resource-level permissions", () => {
    const noResourceLevel = new Set(["ecr:GetAuthorizationToken", "ecs:ListTasks"]);
    const stars = allStatements()
      .filter(({ s }) => resourcesOf(s).includes("*"))
      // @cdklabs/deploy-time-build's own roles are the library's (see nag.ts).
      .filter(({ id }) => !/ContainerImageBuild|DeployTimeBuild/.test(id));
    expect(stars.length).toBeGreaterThan(0);
    for (const { id, s } of stars)
      for (const a of actionsOf(s)) expect(noResourceLevel.has(a), `${id}: ${a}`).toBe(true);
  });
});

describe("watchdog and logs", () => {
  it("runs the watchdog every 5 minutes with its configuration as the rule's input", () => {
    t.watchdog.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      Targets: [Match.objectLike({ Input: Match.anyValue() })],
    });
    t.watchdog.hasResourceProperties("AWS::Lambda::Function", {
      Architectures: ["arm64"],
      Runtime: "nodejs24.x",
    });
  });

  it("sets a retention on every log group", () => {
    const groups = resources("AWS::Logs::LogGroup");
    expect(groups.length).toBeGreaterThanOrEqual(2);
    for (const [stack, id, r] of groups) expect(r.Properties?.RetentionInDays, `${stack}/${id}`).toBe(14);
  });
});

describe("outputs", () => {
  it("publishes custom.events for aws-amplify and custom.openclaw for hosting and the scripts", () => {
    const outputs = JSON.stringify(json.root.Outputs ?? {});
    expect(outputs).toContain("customOutputs");
    expect(outputs).toContain('\\"events\\":{\\"url\\":\\"https://');
    expect(outputs).toContain('\\"default_authorization_type\\":\\"AMAZON_COGNITO_USER_POOLS\\"');
    for (const key of ["serverPolicyArn", "runtimeLogGroup", "ECS_TASK_DEFINITION", "SSM_PREFIX"])
      expect(outputs).toContain(key);
  });
});

describe("cdk-nag AwsSolutions", () => {
  it("leaves no finding that is neither fixed nor accepted with a reason", () => {
    expect(nag.before.violations.length).toBeGreaterThan(0);
    expect(nag.uncovered).toEqual([]);
    expect(nag.after.violations.map((v) => v.ruleName)).toEqual([]);
    expect(nag.after.success).toBe(true);
  });

  it("keeps no stale acceptance", () => {
    expect(nag.unused.map((u) => `${u.rule} ${u.path}`)).toEqual([]);
  });
});

describe("npm run cost on these templates", () => {
  it("finds nothing that bills by the hour while idle, and no resource type it cannot price", () => {
    const a = assessTemplates(readTemplates(outDir));
    expect(a.rows.length).toBeGreaterThan(50);
    expect(a.hourlyIdle).toEqual([]);
    expect(a.unknown).toEqual([]);
    expect(a.totals.idle).toBeLessThan(1);
  });
});

describe("cloud assembly", () => {
  it("nests every stack in the root stack", () => {
    t.root.resourceCountIs("AWS::CloudFormation::Stack", Object.keys(t).length - 1);
  });

  it("writes every stack's template to the output folder as synthesized (what npm run cost reads)", () => {
    const written = readdirSync(outDir)
      .filter((f) => f.endsWith(".template.json"))
      .map((f) => Template.fromJSON(JSON.parse(readFileSync(join(outDir, f), "utf8"))));
    const ids = (tpl: Template) => Object.keys((tpl.toJSON() as CfnTemplate).Resources ?? {}).sort();
    for (const [name, tpl] of Object.entries(t) as [StackName, Template][]) {
      const file = written.find((w) => ids(w).join() === ids(tpl).join());
      expect(file, `${name}'s template in ${outDir}`).toBeInstanceOf(Template);
      file?.templateMatches(tpl.toJSON());
    }
  });
});
