import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assessTemplates, type CfnTemplate, main, stackLabel } from "./cost";
import { PRICES, USAGE } from "./pricing";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function assembly(templates: Record<string, CfnTemplate>): string {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-cost-test-"));
  dirs.push(dir);
  for (const [file, t] of Object.entries(templates)) writeFileSync(join(dir, file), JSON.stringify(t));
  return dir;
}

const tpl = (
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>,
): CfnTemplate => ({
  Resources: resources,
});

const clean = tpl({
  Table: { Type: "AWS::DynamoDB::Table", Properties: { BillingMode: "PAY_PER_REQUEST" } },
  Task: { Type: "AWS::ECS::TaskDefinition", Properties: { Cpu: "1024", Memory: "2048" } },
  Role: { Type: "AWS::IAM::Role" },
  S3Endpoint: { Type: "AWS::EC2::VPCEndpoint", Properties: { VpcEndpointType: "Gateway" } },
});

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await main(argv, (s) => lines.push(s));
  return { code, output: lines.join("\n") };
}

describe("the no-hourly-idle check", () => {
  it("fails (exit 1) when a template has a NAT gateway, and names it", async () => {
    const dir = assembly({
      "app-1.template.json": clean,
      "app1network0A1B2C3D.nested.template.json": tpl({ Nat: { Type: "AWS::EC2::NatGateway" } }),
    });
    const { code, output } = await run(["--dir", dir]);
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL: 1 resource\(s\) bill by the hour while idle/);
    expect(output).toMatch(/ network Nat AWS::EC2::NatGateway/);
  });

  it.each([
    [
      "an interface endpoint",
      { Type: "AWS::EC2::VPCEndpoint", Properties: { VpcEndpointType: "Interface" } },
    ],
    ["a load balancer", { Type: "AWS::ElasticLoadBalancingV2::LoadBalancer" }],
    ["an always-on ECS service", { Type: "AWS::ECS::Service", Properties: { DesiredCount: 1 } }],
    ["an RDS instance", { Type: "AWS::RDS::DBInstance" }],
    [
      "provisioned Lambda concurrency",
      { Type: "AWS::Lambda::Alias", Properties: { ProvisionedConcurrencyConfig: {} } },
    ],
  ])("flags %s", (_what, resource) => {
    expect(assessTemplates([{ stack: "s", template: tpl({ R: resource }) }]).hourlyIdle).toHaveLength(1);
  });

  it("does not flag gateway endpoints or a service scaled to zero", () => {
    const a = assessTemplates([
      {
        stack: "s",
        template: tpl({
          G: { Type: "AWS::EC2::VPCEndpoint", Properties: { VpcEndpointType: "Gateway" } },
          S: { Type: "AWS::ECS::Service", Properties: { DesiredCount: 0 } },
        }),
      },
    ]);
    expect(a.hourlyIdle).toEqual([]);
    expect(a.totals.idle).toBe(0);
  });

  it("exits 2 on a resource type the price table does not know, instead of guessing", async () => {
    const dir = assembly({ "x.template.json": tpl({ Q: { Type: "AWS::Foo::Bar" } }) });
    const { code, output } = await run(["--dir", dir]);
    expect(code).toBe(2);
    expect(output).toMatch(/not in the price table/);
  });
});

describe("the report", () => {
  it("prices a Fargate task by its CPU and memory at 2 hours a day on Spot, with the public IP", () => {
    const a = assessTemplates([{ stack: "agent", template: clean }]);
    const task = a.rows.find((r) => r.id === "Task");
    const hour = PRICES.fargateArmVcpuHour.usd + 2 * PRICES.fargateArmGbHour.usd;
    const expected =
      USAGE.activeHoursPerMonth * hour * (1 - PRICES.fargateSpotDiscount.usd) +
      USAGE.activeHoursPerMonth * PRICES.publicIpv4Hour.usd;
    expect(task?.idle).toBe(0);
    expect(task?.active).toBeCloseTo(expected, 6);
    expect(task?.active).toBeGreaterThan(0.5);
  });

  it("prints per-resource rows, totals, the price table with sources, and exits 0 when clean", async () => {
    const { code, output } = await run(["--dir", assembly({ "app.template.json": clean })]);
    expect(code).toBe(0);
    expect(output).toMatch(/Task\s+AWS::ECS::TaskDefinition\s+0\.00\s+1\.\d\d/);
    expect(output).toMatch(/TOTAL \(USD\/month\)\s+idle: \$0\.00\s+at 2 hours of use a day: \$\d+\.\d\d/);
    expect(output).toContain("<https://aws.amazon.com/fargate/pricing/>");
    expect(output).toMatch(/activeHoursPerMonth\s+60\.8/);
  });

  it("answers --help without synthesizing anything", async () => {
    const { code, output } = await run(["--help"]);
    expect(code).toBe(0);
    expect(output).toMatch(/Usage: npm run cost/);
  });

  it("labels nested templates by their stack name", () => {
    const roots = ["amplify-test-test-sandbox-125d6d03bf"];
    expect(stackLabel("amplifytesttestsandbox125d6d03bfagent9C78C284.nested.template.json", roots)).toBe(
      "agent",
    );
    expect(stackLabel("amplify-test-test-sandbox-125d6d03bf.template.json", roots, "backend")).toBe(
      "backend/root",
    );
  });
});
