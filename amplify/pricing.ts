/*
 * The price table and usage profile `npm run cost` uses (amplify/cost.ts). Prices are AWS
 * list prices for us-east-1 (N. Virginia) as published on the linked pages (read 2025-2026);
 * other regions are typically 0-30% higher. They are estimates for a bill's order of
 * magnitude, not a quote: check the linked pages before relying on a figure.
 */

export interface Price {
  usd: number;
  unit: string;
  source: string;
}

const FARGATE = "https://aws.amazon.com/fargate/pricing/";
const VPC = "https://aws.amazon.com/vpc/pricing/";
const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";
const LAMBDA = "https://aws.amazon.com/lambda/pricing/";

export const PRICES = {
  fargateArmVcpuHour: { usd: 0.03238, unit: "per vCPU-hour, Linux/ARM, on-demand", source: FARGATE },
  fargateArmGbHour: { usd: 0.00356, unit: "per GB-hour, Linux/ARM, on-demand", source: FARGATE },
  fargateSpotDiscount: {
    usd: 0.7,
    unit: 'fraction off on-demand for Fargate Spot ("up to 70%"; the real discount varies)',
    source: "https://aws.amazon.com/fargate/pricing/#Fargate_Spot_Pricing",
  },
  publicIpv4Hour: { usd: 0.005, unit: "per public IPv4 address-hour (a running task's IP)", source: VPC },
  natGatewayHour: { usd: 0.045, unit: "per NAT gateway-hour, plus $0.045/GB", source: VPC },
  interfaceEndpointAzHour: {
    usd: 0.01,
    unit: "per interface endpoint per AZ-hour",
    source: "https://aws.amazon.com/privatelink/pricing/",
  },
  loadBalancerHour: {
    usd: 0.0225,
    unit: "per ALB/NLB-hour, plus capacity units",
    source: "https://aws.amazon.com/elasticloadbalancing/pricing/",
  },
  dynamoWriteMillion: {
    usd: 0.625,
    unit: "per million write request units (on-demand)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoReadMillion: {
    usd: 0.125,
    unit: "per million read request units (on-demand)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoStorageGbMonth: {
    usd: 0.25,
    unit: "per GB-month beyond the first 25 GB (free)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoPitrGbMonth: {
    usd: 0.2,
    unit: "per GB-month of continuous backup",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  s3GbMonth: { usd: 0.023, unit: "per GB-month, S3 Standard", source: "https://aws.amazon.com/s3/pricing/" },
  s3PutThousand: {
    usd: 0.005,
    unit: "per 1,000 PUT/LIST requests",
    source: "https://aws.amazon.com/s3/pricing/",
  },
  s3GetThousand: {
    usd: 0.0004,
    unit: "per 1,000 GET requests",
    source: "https://aws.amazon.com/s3/pricing/",
  },
  eventsOpsMillion: {
    usd: 1.0,
    unit: "per million AppSync Event API operations (publishes and deliveries)",
    source: "https://aws.amazon.com/appsync/pricing/",
  },
  eventsConnectionMinutesMillion: {
    usd: 0.08,
    unit: "per million connection-minutes",
    source: "https://aws.amazon.com/appsync/pricing/",
  },
  lambdaRequestsMillion: { usd: 0.2, unit: "per million requests (free tier not counted)", source: LAMBDA },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: "per GB-second, ARM (free tier not counted)",
    source: LAMBDA,
  },
  lambdaX86GbSecond: {
    usd: 0.0000166667,
    unit: "per GB-second, x86 (free tier not counted)",
    source: LAMBDA,
  },
  apiGatewayRestMillion: {
    usd: 3.5,
    unit: "per million REST API requests",
    source: "https://aws.amazon.com/api-gateway/pricing/",
  },
  sqsMillion: {
    usd: 0.4,
    unit: "per million requests (first million free)",
    source: "https://aws.amazon.com/sqs/pricing/",
  },
  cloudFrontGb: {
    usd: 0.085,
    unit: "per GB to the internet beyond the always-free 1 TB and 10M requests",
    source: "https://aws.amazon.com/cloudfront/pricing/",
  },
  logsIngestGb: { usd: 0.5, unit: "per GB ingested", source: CLOUDWATCH },
  logsStorageGbMonth: { usd: 0.03, unit: "per GB-month stored", source: CLOUDWATCH },
  alarmMonth: { usd: 0.1, unit: "per standard alarm-month", source: CLOUDWATCH },
  ecrGbMonth: {
    usd: 0.1,
    unit: "per GB-month of image storage",
    source: "https://aws.amazon.com/ecr/pricing/",
  },
  kmsKeyMonth: {
    usd: 1.0,
    unit: "per customer managed key-month",
    source: "https://aws.amazon.com/kms/pricing/",
  },
  secretMonth: {
    usd: 0.4,
    unit: "per secret-month",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
  },
  wafAclMonth: {
    usd: 5.0,
    unit: "per web ACL-month, plus rules",
    source: "https://aws.amazon.com/waf/pricing/",
  },
  codeBuildArmSmallMinute: {
    usd: 0.0034,
    unit: "per build minute, arm1.small (only while a deploy builds the image)",
    source: "https://aws.amazon.com/codebuild/pricing/",
  },
  cognitoMau: {
    usd: 0,
    unit: "per monthly active user up to 10,000 (Essentials/Lite free tier)",
    source: "https://aws.amazon.com/cognito/pricing/",
  },
  ssmStandardParameter: {
    usd: 0,
    unit: "per standard parameter and standard-throughput API call",
    source: "https://aws.amazon.com/systems-manager/pricing/",
  },
  scheduledRule: {
    usd: 0,
    unit: "per scheduled EventBridge rule event (events from AWS services are free)",
    source: "https://aws.amazon.com/eventbridge/pricing/",
  },
} as const satisfies Record<string, Price>;

/** What "2 hours of use a day" means in the active column; each figure is an assumption. */
export const USAGE = {
  hoursPerMonth: 730,
  /** 2 h/day x 30.4 days: the runtime task runs this long (idle timeout included). */
  activeHoursPerMonth: 60.8,
  /** Runtime heartbeats (every 15 s), queue claims, messages, settings: DynamoDB writes. */
  dynamoWritesPerMonth: 40_000,
  dynamoReadsPerMonth: 60_000,
  /** Conversations, messages and task rows of one user. */
  tableGb: 0.1,
  /** OpenClaw state snapshots (SQLite, workspace), plus two weeks of old versions. */
  bucketGb: 0.5,
  stateSyncPutsPerMonth: 3_000,
  stateSyncGetsPerMonth: 3_000,
  /** Streamed deltas, statuses and tool events published and delivered. */
  eventOpsPerMonth: 300_000,
  /** A browser tab and the runtime connected while active. */
  eventConnectionMinutesPerMonth: 2 * 60.8 * 60,
  runtimeLogsGbPerMonth: 0.3,
  otherLogsGbPerMonth: 0.02,
  /** The runtime image (Node 24 + OpenClaw); ECR keeps at most three. */
  imageGb: 1.2,
  imagesKept: 3,
  ssrRequestsPerMonth: 10_000,
  ssrGbSeconds: 10_000 * 0.3,
  watchdogSeconds: 1,
  buildMinutesPerDeploy: 8,
} as const;
