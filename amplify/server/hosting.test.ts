import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/env";
import type { AmplifyOutputs } from "../outputs";
import { synthHostingFixture } from "./hosting-fixture";

/*
 * The hosting stack, synthesized offline from an OpenNext-shaped fixture with the real
 * adapter and construct (hosting-fixture.ts says why and what this leaves out).
 */

const outputs: AmplifyOutputs = {
  custom: {
    events: { url: "https://abc.appsync-api.eu-west-1.amazonaws.com/event", aws_region: "eu-west-1" },
    openclaw: {
      version: "1",
      region: "eu-west-1",
      serverEnv: {
        APP_MODE: "aws",
        TABLE_NAME: "openclaw-table",
        BUCKET_NAME: "openclaw-bucket",
        SSM_PREFIX: "/serverless-openclaw/app/main",
        USER_POOL_ID: "eu-west-1_abc",
        USER_POOL_CLIENT_ID: "client123",
        EVENTS_HTTP_ENDPOINT: "https://abc.appsync-api.eu-west-1.amazonaws.com/event",
        EVENTS_REALTIME_ENDPOINT: "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
        ECS_CLUSTER: "openclaw-cluster",
        ECS_TASK_DEFINITION: "openclawRuntime",
        ECS_CONTAINER_NAME: "runtime",
        ECS_SUBNETS: "subnet-a,subnet-b",
        ECS_SECURITY_GROUPS: "sg-1",
      },
      serverPolicyArn: "arn:aws:iam::123456789012:policy/openclaw-server",
      runtimeLogGroup: "/openclaw/runtime",
    },
  },
};

let t: Template;
let json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

beforeAll(() => {
  const { stack } = synthHostingFixture(outputs);
  t = Template.fromStack(stack);
  json = t.toJSON() as typeof json;
}, 180_000);

function ofType(type: string) {
  return Object.values(json.Resources).filter((r) => r.Type === type);
}

describe("hosting (standalone construct, OpenNext-shaped fixture)", () => {
  it("gives the SSR function the server configuration lib/env.ts reads, and nothing secret", () => {
    const ssr = ofType("AWS::Lambda::Function").filter((f) =>
      JSON.stringify(f.Properties?.Environment ?? {}).includes("TABLE_NAME"),
    );
    expect(ssr.length).toBeGreaterThanOrEqual(1);
    const env = (ssr[0]?.Properties?.Environment ?? { Variables: {} }) as {
      Variables: Record<string, string>;
    };
    const vars = env.Variables;
    for (const [k, v] of Object.entries(outputs.custom.openclaw.serverEnv)) expect(vars[k], k).toBe(v);
    // The names match what the server's configuration loader requires (Lambda adds AWS_REGION).
    const config = loadConfig({ ...vars, AWS_REGION: "eu-west-1" } as unknown as NodeJS.ProcessEnv);
    expect(config.mode).toBe("aws");
    expect(config.runtime).toMatchObject({ kind: "ecs", subnets: ["subnet-a", "subnet-b"] });
    expect(JSON.stringify(vars)).not.toMatch(/sk-|bot\d+:|PASSWORD/i);
  });

  it("attaches the backend's server policy to the SSR function's role", () => {
    t.hasResourceProperties("AWS::IAM::Role", {
      ManagedPolicyArns: Match.arrayWith([outputs.custom.openclaw.serverPolicyArn]),
    });
  });

  it("turns the default monitoring off: no alarms, SNS topic or KMS key billing while idle", () => {
    for (const type of ["AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::KMS::Key"])
      expect(ofType(type), type).toEqual([]);
  });

  it("sets no Content-Security-Policy that would block the AppSync Events WebSocket", () => {
    // The construct's default is CloudFront's managed SecurityHeaders policy (no CSP); a CSP
    // configured later must keep wss: in connect-src, or the browser loses realtime.
    const connectSrc = JSON.stringify(json).match(/connect-src[^;"]*/g) ?? [];
    for (const c of connectSrc) expect(c).toMatch(/wss:/);
    if (connectSrc.length === 0)
      expect(JSON.stringify(ofType("AWS::CloudFront::Distribution"))).toContain(
        "67f7725c-6f97-4210-82d7-5512b31e9d03", // Managed-SecurityHeadersPolicy
      );
  });

  it("serves SSR through API Gateway REST, which brings the region-wide AWS::ApiGateway::Account", () => {
    expect(ofType("AWS::ApiGateway::RestApi").length).toBeGreaterThanOrEqual(1);
    // docs/deploy.md documents this account-level setting; this keeps the doc honest.
    expect(ofType("AWS::ApiGateway::Account")).toHaveLength(1);
    expect(ofType("AWS::CloudFront::Distribution")).toHaveLength(1);
  });
});
