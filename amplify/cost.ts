import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage } from "../lib/errors";
import { PRICES, type Price, USAGE } from "./pricing";

/*
 * `npm run cost`: the monthly bill of the synthesized stacks, resource by resource, while
 * idle and at 2 hours of use a day, with the price table it used. Exits 1 when a resource
 * that bills by the hour while idle appears (a NAT gateway, a load balancer, an interface
 * endpoint, an always-on task ...), 2 when a resource type is not in the table yet.
 */

type Props = Record<string, unknown>;
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Props }>;
}
export interface TemplateInput {
  /** A short name for the stack (the nested stack's name where known). */
  stack: string;
  template: CfnTemplate;
}

/** hourly-idle: bills every hour even when nobody uses the app (fails the check). */
export type CostClass = "hourly-idle" | "fixed" | "usage" | "free" | "unknown";

export interface CostRow {
  stack: string;
  id: string;
  type: string;
  cls: CostClass;
  /** USD per month while nobody uses the app. */
  idle: number;
  /** USD per month at 2 hours of use a day (USAGE). */
  active: number;
  basis: string;
}

interface Estimate {
  cls: CostClass;
  idle?: number;
  active?: number;
  basis: string;
}

type Ctx = { id: string; resources: Record<string, { Type: string; Properties?: Props }> };
type Estimator = (props: Props, ctx: Ctx) => Estimate;

const free = (basis = "no charge"): Estimate => ({ cls: "free", basis });
const hourly = (usdPerHour: number, what: string): Estimate => ({
  cls: "hourly-idle",
  idle: usdPerHour * USAGE.hoursPerMonth,
  active: usdPerHour * USAGE.hoursPerMonth,
  basis: `${what}: $${usdPerHour}/hour, 730 hours`,
});
const money = (n: number) => (n < 0.005 && n > 0 ? "<0.01" : n.toFixed(2));
const num = (v: unknown, fallback: number) => (typeof v === "number" ? v : Number(v ?? fallback) || fallback);

/** A Lambda invoked `perMonth` times for `seconds` at its configured memory and architecture. */
function lambdaCost(fn: Props | undefined, perMonth: number, seconds: number): number {
  const gb = num(fn?.MemorySize, 128) / 1024;
  const arm = JSON.stringify(fn?.Architectures ?? []).includes("arm64");
  const gbSecond = arm ? PRICES.lambdaArmGbSecond.usd : PRICES.lambdaX86GbSecond.usd;
  return (perMonth / 1e6) * PRICES.lambdaRequestsMillion.usd + perMonth * seconds * gb * gbSecond;
}

function scheduleRunsPerMonth(expr: unknown): number | undefined {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(String(expr ?? ""));
  if (!m) return undefined;
  const n = Number(m[1]);
  const perHour = m[2]?.startsWith("minute") ? 60 / n : m[2]?.startsWith("hour") ? 1 / n : 1 / (24 * n);
  return perHour * USAGE.hoursPerMonth;
}

const ESTIMATORS: Record<string, Estimator> = {
  // --- always billing while idle: the check fails on these ---
  "AWS::EC2::NatGateway": () => hourly(PRICES.natGatewayHour.usd, "NAT gateway"),
  "AWS::ElasticLoadBalancingV2::LoadBalancer": () => hourly(PRICES.loadBalancerHour.usd, "load balancer"),
  "AWS::ElasticLoadBalancing::LoadBalancer": () =>
    hourly(PRICES.loadBalancerHour.usd, "classic load balancer"),
  "AWS::EC2::VPCEndpoint": (p) =>
    p.VpcEndpointType === "Interface" || p.VpcEndpointType === "GatewayLoadBalancer"
      ? hourly(PRICES.interfaceEndpointAzHour.usd, "interface endpoint, per AZ")
      : free("gateway endpoint: no charge"),
  "AWS::EC2::EIP": () => hourly(PRICES.publicIpv4Hour.usd, "Elastic IP (public IPv4)"),
  "AWS::EC2::Instance": () => hourly(0.0104, "EC2 instance (t4g.micro or larger)"),
  "AWS::ECS::Service": (p) =>
    num(p.DesiredCount, 1) > 0
      ? hourly(PRICES.fargateArmVcpuHour.usd / 4, "an always-on ECS service task (0.25 vCPU at least)")
      : free("service scaled to zero"),
  "AWS::AutoScaling::AutoScalingGroup": (p) =>
    num(p.MinSize, 0) > 0 || num(p.DesiredCapacity, 0) > 0
      ? hourly(0.0104, "instances kept running by an Auto Scaling group")
      : free("group scaled to zero"),
  "AWS::ApiGateway::Stage": (p) =>
    p.CacheClusterEnabled === true ? hourly(0.02, "API Gateway cache cluster") : free("stage: no charge"),
  "AWS::Lambda::Alias": (p) =>
    p.ProvisionedConcurrencyConfig ? hourly(0.0000041667 * 3600, "provisioned concurrency (1 GB)") : free(),
  "AWS::Lambda::Version": (p) =>
    p.ProvisionedConcurrencyConfig ? hourly(0.0000041667 * 3600, "provisioned concurrency (1 GB)") : free(),
  ...Object.fromEntries(
    [
      "AWS::RDS::DBInstance",
      "AWS::RDS::DBCluster",
      "AWS::ElastiCache::CacheCluster",
      "AWS::ElastiCache::ReplicationGroup",
      "AWS::ElastiCache::ServerlessCache",
      "AWS::OpenSearchService::Domain",
      "AWS::Elasticsearch::Domain",
      "AWS::Redshift::Cluster",
      "AWS::MSK::Cluster",
      "AWS::EKS::Cluster",
      "AWS::DocDB::DBCluster",
      "AWS::DocDB::DBInstance",
      "AWS::Neptune::DBInstance",
      "AWS::MemoryDB::Cluster",
      "AWS::Kinesis::Stream",
      "AWS::EC2::TransitGateway",
      "AWS::EC2::TransitGatewayAttachment",
      "AWS::EC2::ClientVpnEndpoint",
      "AWS::EC2::VPNConnection",
      "AWS::NetworkFirewall::Firewall",
      "AWS::GlobalAccelerator::Accelerator",
      "AWS::SageMaker::Endpoint",
      "AWS::AppRunner::Service",
      "AWS::Route53Resolver::ResolverEndpoint",
      "AWS::DMS::ReplicationInstance",
    ].map((t): [string, Estimator] => [t, () => hourly(0.01, `${t} bills per hour while it exists`)]),
  ),

  // --- fixed monthly while idle ---
  "AWS::KMS::Key": () => ({
    cls: "fixed",
    idle: PRICES.kmsKeyMonth.usd,
    active: PRICES.kmsKeyMonth.usd,
    basis: "customer managed key",
  }),
  "AWS::CloudWatch::Alarm": () => ({
    cls: "fixed",
    idle: PRICES.alarmMonth.usd,
    active: PRICES.alarmMonth.usd,
    basis: "standard alarm",
  }),
  "AWS::SecretsManager::Secret": () => ({
    cls: "fixed",
    idle: PRICES.secretMonth.usd,
    active: PRICES.secretMonth.usd,
    basis: "secret",
  }),
  "AWS::WAFv2::WebACL": () => ({
    cls: "fixed",
    idle: PRICES.wafAclMonth.usd,
    active: PRICES.wafAclMonth.usd,
    basis: "web ACL",
  }),
  "AWS::CloudWatch::Dashboard": () => ({
    cls: "fixed",
    idle: 3,
    active: 3,
    basis: "dashboard beyond the 3 free",
  }),
  "AWS::Route53::HostedZone": () => ({ cls: "fixed", idle: 0.5, active: 0.5, basis: "hosted zone" }),
  "AWS::ECR::Repository": () => {
    const gb = USAGE.imageGb * USAGE.imagesKept;
    return {
      cls: "fixed",
      idle: gb * PRICES.ecrGbMonth.usd,
      active: gb * PRICES.ecrGbMonth.usd,
      basis: `up to ${USAGE.imagesKept} images of ${USAGE.imageGb} GB`,
    };
  },

  // --- pay per use ---
  "AWS::ECS::TaskDefinition": (p) => {
    const vcpu = num(p.Cpu, 1024) / 1024;
    const gb = num(p.Memory, 2048) / 1024;
    const onDemandHour = vcpu * PRICES.fargateArmVcpuHour.usd + gb * PRICES.fargateArmGbHour.usd;
    const spotHour = onDemandHour * (1 - PRICES.fargateSpotDiscount.usd);
    const h = USAGE.activeHoursPerMonth;
    const ip = h * PRICES.publicIpv4Hour.usd;
    return {
      cls: "usage",
      active: h * spotHour + ip,
      basis: `${vcpu} vCPU/${gb} GB ARM on Fargate Spot, ${h} h; +$${money(ip)} public IPv4; on-demand fallback: $${money(h * onDemandHour + ip)}`,
    };
  },
  "AWS::DynamoDB::Table": (p) => {
    const pitr = JSON.stringify(p.PointInTimeRecoverySpecification ?? {}).includes(
      '"PointInTimeRecoveryEnabled":true',
    );
    const idle = pitr ? USAGE.tableGb * PRICES.dynamoPitrGbMonth.usd : 0;
    const requests =
      (USAGE.dynamoWritesPerMonth / 1e6) * PRICES.dynamoWriteMillion.usd +
      (USAGE.dynamoReadsPerMonth / 1e6) * PRICES.dynamoReadMillion.usd;
    return {
      cls: "usage",
      idle,
      active: idle + requests,
      basis: `on-demand; storage under the 25 GB free tier${pitr ? `; PITR on ${USAGE.tableGb} GB` : ""}`,
    };
  },
  "AWS::S3::Bucket": (p) => {
    // Only the app's state bucket (storage/resource.ts) holds data worth counting; the
    // hosting buckets hold a few MB of assets and logs.
    const state = JSON.stringify(p.LifecycleConfiguration ?? {}).includes('"Id":"expire-old-versions"');
    const idle = state ? USAGE.bucketGb * PRICES.s3GbMonth.usd : 0.01;
    const requests = state
      ? (USAGE.stateSyncPutsPerMonth / 1000) * PRICES.s3PutThousand.usd +
        (USAGE.stateSyncGetsPerMonth / 1000) * PRICES.s3GetThousand.usd
      : 0;
    return {
      cls: "usage",
      idle,
      active: idle + requests,
      basis: state ? `${USAGE.bucketGb} GB state with old versions` : "a few MB",
    };
  },
  "AWS::AppSync::Api": () => ({
    cls: "usage",
    active:
      (USAGE.eventOpsPerMonth / 1e6) * PRICES.eventsOpsMillion.usd +
      (USAGE.eventConnectionMinutesPerMonth / 1e6) * PRICES.eventsConnectionMinutesMillion.usd,
    basis: `${USAGE.eventOpsPerMonth / 1000}k event operations, ${USAGE.eventConnectionMinutesPerMonth} connection-minutes`,
  }),
  "AWS::AppSync::GraphQLApi": () => ({ cls: "usage", basis: "per request" }),
  "AWS::Logs::LogGroup": (p, ctx) => {
    const runtime = /^AgentLogs/.test(ctx.id);
    const gb = runtime ? USAGE.runtimeLogsGbPerMonth : USAGE.otherLogsGbPerMonth;
    const days = num(p.RetentionInDays, 3650);
    const stored = gb * Math.min(days / 30, 120);
    return {
      cls: "usage",
      idle: stored * PRICES.logsStorageGbMonth.usd,
      active: gb * PRICES.logsIngestGb.usd + stored * PRICES.logsStorageGbMonth.usd,
      basis: `${gb} GB/month ingested, kept ${p.RetentionInDays ?? "forever"} days`,
    };
  },
  "AWS::Events::Rule": (p, ctx) => {
    const runs = scheduleRunsPerMonth(p.ScheduleExpression);
    if (runs === undefined) return free("event rule: no charge for AWS events");
    const target = JSON.stringify(p.Targets ?? []);
    const fnId = Object.keys(ctx.resources).find(
      (id) => ctx.resources[id]?.Type === "AWS::Lambda::Function" && target.includes(`"${id}"`),
    );
    const cost = lambdaCost(fnId ? ctx.resources[fnId]?.Properties : undefined, runs, USAGE.watchdogSeconds);
    return {
      cls: "usage",
      idle: cost,
      active: cost,
      basis: `${Math.round(runs)} scheduled Lambda runs of ~${USAGE.watchdogSeconds} s (before the Lambda free tier)`,
    };
  },
  "AWS::ApiGateway::RestApi": () => ({
    cls: "usage",
    active: (USAGE.ssrRequestsPerMonth / 1e6) * PRICES.apiGatewayRestMillion.usd,
    basis: `${USAGE.ssrRequestsPerMonth} SSR requests`,
  }),
  "AWS::Lambda::Function": (p, ctx) => {
    // The hosting construct's SSR compute is `Compute-default` (or `Compute-server`).
    const ssr = /Compute(default|server)Function/.test(ctx.id);
    return ssr
      ? {
          cls: "usage",
          active: lambdaCost(
            p,
            USAGE.ssrRequestsPerMonth,
            USAGE.ssrGbSeconds / USAGE.ssrRequestsPerMonth / (num(p.MemorySize, 1024) / 1024),
          ),
          basis: `${USAGE.ssrRequestsPerMonth} SSR requests (before the Lambda free tier)`,
        }
      : { cls: "usage", basis: "per invocation (deploy-time, scheduled or rare)" };
  },
  "AWS::CloudFront::Distribution": () => ({
    cls: "usage",
    basis: "within the always-free 1 TB and 10M requests",
  }),
  "AWS::CloudFront::Function": () => ({ cls: "usage", basis: "$0.10 per million invocations" }),
  "AWS::CloudFront::KeyValueStore": () => ({ cls: "usage", basis: "per read from a CloudFront Function" }),
  "AWS::SQS::Queue": () => ({ cls: "usage", basis: "per request; the first million a month are free" }),
  "AWS::CodeBuild::Project": () => ({
    cls: "usage",
    basis: `only while a deploy builds the runtime image: ~$${money(USAGE.buildMinutesPerDeploy * PRICES.codeBuildArmSmallMinute.usd)} per deploy`,
  }),
  "AWS::Cognito::UserPool": () => ({ cls: "usage", basis: "free up to 10,000 monthly active users" }),
  "AWS::SSM::Parameter": (p) =>
    p.Tier === "Advanced"
      ? { cls: "fixed", idle: 0.05, active: 0.05, basis: "advanced parameter" }
      : free("standard parameter"),
  "AWS::Scheduler::Schedule": () => ({ cls: "usage", basis: "$1 per million invocations after 14M free" }),
};

const FREE_TYPES = new Set([
  "AWS::CloudFormation::Stack",
  "AWS::CloudFormation::CustomResource",
  "AWS::EC2::VPC",
  "AWS::EC2::Subnet",
  "AWS::EC2::RouteTable",
  "AWS::EC2::Route",
  "AWS::EC2::SubnetRouteTableAssociation",
  "AWS::EC2::InternetGateway",
  "AWS::EC2::VPCGatewayAttachment",
  "AWS::EC2::EgressOnlyInternetGateway",
  "AWS::EC2::SecurityGroup",
  "AWS::EC2::SecurityGroupIngress",
  "AWS::EC2::SecurityGroupEgress",
  "AWS::EC2::NetworkAcl",
  "AWS::EC2::NetworkAclEntry",
  "AWS::EC2::SubnetNetworkAclAssociation",
  "AWS::ECS::Cluster",
  "AWS::ECS::ClusterCapacityProviderAssociations",
  "AWS::Cognito::UserPoolClient",
  "AWS::Cognito::UserPoolDomain",
  "AWS::Cognito::UserPoolGroup",
  "AWS::Cognito::IdentityPool",
  "AWS::Cognito::IdentityPoolRoleAttachment",
  "AWS::AppSync::ChannelNamespace",
  "AWS::AppSync::ApiKey",
  "AWS::S3::BucketPolicy",
  "AWS::SQS::QueuePolicy",
  "AWS::SNS::Topic",
  "AWS::SNS::Subscription",
  "AWS::SNS::TopicPolicy",
  "AWS::Lambda::Permission",
  "AWS::Lambda::EventSourceMapping",
  "AWS::Lambda::Url",
  "AWS::Lambda::LayerVersion",
  "AWS::CloudFront::OriginAccessControl",
  "AWS::CloudFront::CloudFrontOriginAccessIdentity",
  "AWS::CloudFront::CachePolicy",
  "AWS::CloudFront::OriginRequestPolicy",
  "AWS::CloudFront::ResponseHeadersPolicy",
  "AWS::ApiGateway::Account",
  "AWS::ApiGateway::Deployment",
  "AWS::ApiGateway::Resource",
  "AWS::ApiGateway::Method",
  "AWS::CertificateManager::Certificate",
  "AWS::Route53::RecordSet",
  "AWS::Logs::SubscriptionFilter",
  "AWS::Logs::ResourcePolicy",
]);

/** Prices one resource; unknown types are reported, never guessed. */
export function estimateResource(type: string, props: Props, ctx: Ctx): Estimate {
  const estimator = ESTIMATORS[type];
  if (estimator) return estimator(props, ctx);
  if (FREE_TYPES.has(type) || type.startsWith("AWS::IAM::")) return free();
  // Custom resources run a Lambda once per deploy.
  if (type.startsWith("Custom::")) return free("custom resource: runs during deploys only");
  return { cls: "unknown", basis: "not in the price table (amplify/cost.ts)" };
}

export interface Assessment {
  rows: CostRow[];
  hourlyIdle: CostRow[];
  unknown: CostRow[];
  totals: { idle: number; active: number };
}

export function assessTemplates(inputs: TemplateInput[]): Assessment {
  const rows: CostRow[] = [];
  for (const { stack, template } of inputs) {
    const resources = template.Resources ?? {};
    for (const [id, r] of Object.entries(resources)) {
      const e = estimateResource(r.Type, r.Properties ?? {}, { id, resources });
      rows.push({
        stack,
        id,
        type: r.Type,
        cls: e.cls,
        idle: e.idle ?? 0,
        active: e.active ?? 0,
        basis: e.basis,
      });
    }
  }
  const totals = rows.reduce((t, r) => ({ idle: t.idle + r.idle, active: t.active + r.active }), {
    idle: 0,
    active: 0,
  });
  return {
    rows,
    hourlyIdle: rows.filter((r) => r.cls === "hourly-idle"),
    unknown: rows.filter((r) => r.cls === "unknown"),
    totals,
  };
}

/**
 * A readable name for a template file: `root` for a top-level stack, and for a nested one
 * its construct id: `<root id without dashes><id><8-char hash>.nested.template.json`.
 */
export function stackLabel(file: string, rootIds: string[] = [], prefix = ""): string {
  const name = basename(file).replace(/\.(nested\.)?template\.json$/, "");
  let label = name;
  if (!file.endsWith(".nested.template.json")) label = "root";
  else {
    const root = rootIds.map((r) => r.replace(/[^A-Za-z0-9]/g, "")).find((r) => name.startsWith(r));
    if (root) label = name.slice(root.length, -8) || name;
  }
  return prefix ? `${prefix}/${label}` : label;
}

/** Reads every `*.template.json` of a cloud assembly folder. */
export function readTemplates(dir: string, prefix = ""): TemplateInput[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".template.json"));
  const roots = files
    .filter((f) => !f.endsWith(".nested.template.json"))
    .map((f) => f.replace(/\.template\.json$/, ""));
  return files.map((f) => ({
    stack: stackLabel(f, roots, prefix),
    template: JSON.parse(readFileSync(join(dir, f), "utf8")) as CfnTemplate,
  }));
}

export function formatReport(a: Assessment): string {
  const lines: string[] = [];
  const billed = a.rows.filter((r) => r.cls !== "free");
  const freeRows = a.rows.filter((r) => r.cls === "free");
  const w = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}~` : s.padEnd(n));
  lines.push(
    `${w("stack", 16)} ${w("resource", 44)} ${w("type", 34)} ${"idle".padStart(8)} ${"2h/day".padStart(8)}  basis`,
  );
  for (const r of billed.sort((x, y) => y.active - x.active))
    lines.push(
      `${w(r.stack, 16)} ${w(r.id, 44)} ${w(r.type, 34)} ${money(r.idle).padStart(8)} ${money(r.active).padStart(8)}  ${r.cls === "usage" || r.cls === "fixed" ? "" : `[${r.cls}] `}${r.basis}`,
    );
  const byType = new Map<string, number>();
  for (const r of freeRows) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  lines.push(
    `${w("", 16)} ${w(`${freeRows.length} more resources, no charge`, 44)} ${w("", 34)} ${"0.00".padStart(8)} ${"0.00".padStart(8)}  ${[...byType].map(([t, n]) => `${t.replace(/^AWS::/, "")} x${n}`).join(", ")}`,
  );
  lines.push("");
  lines.push(
    `TOTAL (USD/month)  idle: $${money(a.totals.idle)}   at 2 hours of use a day: $${money(a.totals.active)}`,
  );
  lines.push("");
  lines.push("Price table (us-east-1 list prices; check the sources before relying on a figure):");
  for (const [key, p] of Object.entries(PRICES) as [string, Price][])
    lines.push(`  ${key.padEnd(32)} $${String(p.usd).padEnd(12)} ${p.unit}  <${p.source}>`);
  lines.push("");
  lines.push("Usage assumed for the 2h/day column (amplify/pricing.ts USAGE):");
  for (const [k, v] of Object.entries(USAGE)) lines.push(`  ${k.padEnd(32)} ${v}`);
  return lines.join("\n");
}

const HELP = `Usage: npm run cost [-- --dir <cloud-assembly>]... [--json]

Prints the monthly cost of the backend (and of the hosting stack) resource by resource,
while idle and at 2 hours of use a day, with the price table used and its sources.

  (no --dir)   synthesize offline first: the backend as \`ampx deploy\` would (standalone),
               and the hosting stack from an OpenNext-shaped fixture (no Next.js build)
  --dir <path> read *.template.json from a cloud assembly instead, e.g.
               .amplify/artifacts/cdk.out after \`npx ampx sandbox\`; may be repeated
  --json       print the assessment as JSON

Exit status: 0 fine; 1 a resource bills by the hour while idle; 2 a resource type is
missing from the price table (add it to amplify/cost.ts).`;

async function synthesizeAll(): Promise<{ inputs: TemplateInput[]; cleanup: () => void }> {
  const outDir = mkdtempSync(join(tmpdir(), "openclaw-cost-"));
  process.env.CDK_CONTEXT_JSON = JSON.stringify({
    "amplify-backend-namespace": "cost",
    "amplify-backend-name": "estimate",
    "amplify-backend-type": "standalone",
  });
  process.env.CDK_OUTDIR = outDir;
  const { Stage } = await import("aws-cdk-lib");
  const { backend } = await import("./backend");
  Stage.of(backend.stack)?.synth();
  const inputs = readTemplates(outDir, "backend");

  const { synthHostingFixture } = await import("./server/hosting-fixture");
  const { assembly } = synthHostingFixture(
    {
      custom: {
        events: { url: "https://example.appsync-api.us-east-1.amazonaws.com/event", aws_region: "us-east-1" },
        openclaw: {
          version: "1",
          region: "us-east-1",
          serverEnv: {
            APP_MODE: "aws",
            TABLE_NAME: "t",
            BUCKET_NAME: "b",
            SSM_PREFIX: "/serverless-openclaw/cost/estimate",
            USER_POOL_ID: "us-east-1_x",
            USER_POOL_CLIENT_ID: "c",
            EVENTS_HTTP_ENDPOINT: "https://example.appsync-api.us-east-1.amazonaws.com/event",
            EVENTS_REALTIME_ENDPOINT:
              "wss://example.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
            ECS_CLUSTER: "c",
            ECS_TASK_DEFINITION: "f",
            ECS_CONTAINER_NAME: "runtime",
            ECS_SUBNETS: "s",
            ECS_SECURITY_GROUPS: "g",
          },
          serverPolicyArn: "arn:aws:iam::123456789012:policy/p",
          runtimeLogGroup: "l",
        },
      },
    },
    "us-east-1",
  );
  inputs.push(...readTemplates(assembly.directory, "hosting"));
  return {
    inputs,
    cleanup: () => {
      rmSync(outDir, { recursive: true, force: true });
      rmSync(assembly.directory, { recursive: true, force: true });
    },
  };
}

/** The CLI; returns the exit status instead of exiting, for tests. */
export async function main(argv: string[], out: (s: string) => void = console.log): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out(HELP);
    return 0;
  }
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--dir") {
      const d = argv[++i];
      if (!d) throw new Error("--dir needs a path");
      dirs.push(resolve(d));
    } else if (argv[i] !== "--json") throw new Error(`unknown argument ${argv[i]} (see --help)`);
  }
  let inputs: TemplateInput[];
  let cleanup = () => {};
  if (dirs.length > 0) inputs = dirs.flatMap((d) => readTemplates(d, dirs.length > 1 ? basename(d) : ""));
  else ({ inputs, cleanup } = await synthesizeAll());
  try {
    if (inputs.length === 0) throw new Error("no *.template.json found");
    const a = assessTemplates(inputs);
    out(argv.includes("--json") ? JSON.stringify(a, null, 2) : formatReport(a));
    if (a.hourlyIdle.length > 0) {
      out(`\nFAIL: ${a.hourlyIdle.length} resource(s) bill by the hour while idle:`);
      for (const r of a.hourlyIdle) out(`  ${r.stack} ${r.id} ${r.type}: ${r.basis}`);
      return 1;
    }
    if (a.unknown.length > 0) {
      out(`\nFAIL: ${a.unknown.length} resource type(s) are not in the price table:`);
      for (const r of a.unknown) out(`  ${r.stack} ${r.id} ${r.type}`);
      return 2;
    }
    return 0;
  } finally {
    cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(errorMessage(err));
      process.exit(2);
    },
  );
}
