import { type PolicyValidationPluginReport, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/*
 * The cdk-nag (AwsSolutions) findings this backend accepts, each with the reason. Everything
 * else is fixed in the constructs. Finding ids embed generated reference names (they change
 * with the deployment's name), so entries match by pattern; applyNagAcknowledgements turns
 * each match into a real `Validations.of(construct).acknowledge()` with the reason, which is
 * what cdk-nag reads. The synthesis test fails on any finding without an entry, and on any
 * entry that no longer matches anything.
 */

export interface NagAcceptance {
  /** Full finding id, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  rule: RegExp;
  /** Construct path of the flagged resource (below the root stack). */
  path: RegExp;
  reason: string;
}

const IMAGE_BUILD = /\/agent\/(ContainerImageBuild|DeployTimeBuild)/;

export const NAG_ACCEPTED: NagAcceptance[] = [
  {
    rule: /^AwsSolutions-COG2$/,
    path: /\/auth\/amplifyAuth\/UserPool\//,
    reason:
      "TOTP MFA is optional by default so a first user can sign in with a password; OPENCLAW_MFA=required makes it mandatory.",
  },
  {
    rule: /^AwsSolutions-COG8$/,
    path: /\/auth\/amplifyAuth\/UserPool\//,
    reason:
      "The Plus feature plan bills per monthly active user; a personal agent with invite-only sign-up does not need threat protection.",
  },
  {
    rule: /^AwsSolutions-DDB3$/,
    path: /\/storage\/Storage\/Table\//,
    reason:
      "Point-in-time recovery is off only in the sandbox (throwaway data); deployed apps default to on (OPENCLAW_TABLE_PITR).",
  },
  {
    rule: /^AwsSolutions-S1$/,
    path: /\/storage\/Storage\/Bucket\//,
    reason:
      "Private bucket reached only by the runtime's task role; access logs would need a second bucket and bill for every state sync. CloudTrail data events can be enabled per account.",
  },
  {
    rule: /^AwsSolutions-VPC7$/,
    path: /\/agent\/Agent\/Vpc\//,
    reason:
      "The VPC has no inbound path (no ingress rule, no load balancer); flow logs bill per GB ingested and are left to the account owner.",
  },
  {
    rule: /^AwsSolutions-ECS4$/,
    path: /\/agent\/Agent\/Cluster\//,
    reason:
      "Container Insights bills per metric while tasks run; the runtime's log group is enough for one user's agent.",
  },
  {
    rule: /^AwsSolutions-ECS2$/,
    path: /\/agent\/Agent\/Task\//,
    reason:
      "The environment holds resource names and endpoints only; secrets (LLM keys, bot token) are read from SSM SecureStrings at run time.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::.*\/users\/\*\]$/,
    path: /\/agent\/Agent\/Task\/TaskRole\//,
    reason:
      "The runtime keeps OpenClaw state under users/<sub>/; one task role serves every user's runtime, so the grant is the users/ prefix of this app's private bucket.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::.*\/users\/\*\/messages\/\*\]$/,
    path: /\/server\/Server\/Policy\//,
    reason:
      "The server reads and deletes the bodies of oversized chat messages under users/<sub>/messages/ for whichever user is signed in; keys are built from the verified caller's id, and OpenClaw state (users/<sub>/openclaw/) stays out of reach.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter\/serverless-openclaw\/.+\/\*\]$/,
    path: /\/(agent\/Agent\/Task\/TaskRole|server\/Server\/Policy)\//,
    reason:
      "This deployment's own parameter prefix: per-user LLM keys live at <prefix>/<sub>/<name>, created at run time.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    path: /\/agent\/Agent\/Task\/ExecutionRole\//,
    reason: "ecr:GetAuthorizationToken has no resource-level permissions (CDK's standard execution role).",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    path: /\/watchdog\/Watchdog\/Role\//,
    reason:
      "ecs:ListTasks has no resource-level permissions; the ecs:cluster condition pins it to this cluster.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\/.+\/\*\]$/,
    path: /\/(watchdog\/Watchdog\/Role|server\/Server\/Policy)\//,
    reason:
      "Task ids are random; this cluster's tasks (task/<cluster>/*) is the narrowest ARN, with an ecs:cluster condition.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition\/.+:\*\]$/,
    path: /\/(watchdog\/Watchdog\/Role|server\/Server\/Policy)\//,
    reason:
      "Every deploy registers a new revision; RunTask is limited to this one task family, on this cluster.",
  },
  {
    rule: /^AwsSolutions-(IAM4|IAM5|L1|CB4)(\[.*\])?$/,
    path: IMAGE_BUILD,
    reason:
      "@cdklabs/deploy-time-build's CodeBuild project and trigger function: they run only during a deploy, to build the runtime image where there is no Docker, and their grants are the library's.",
  },
];

interface Finding {
  rule: string;
  path: string;
}

function findings(report: PolicyValidationPluginReport): Finding[] {
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      path: r.constructPath ?? r.resourceLogicalId ?? "",
    })),
  );
}

/**
 * Acknowledges every finding of `report` that NAG_ACCEPTED covers, on the flagged construct.
 * Returns the findings nothing covers and the entries that covered nothing.
 */
export function applyNagAcknowledgements(
  root: IConstruct,
  report: PolicyValidationPluginReport,
  accepted: NagAcceptance[] = NAG_ACCEPTED,
): { uncovered: Finding[]; unused: NagAcceptance[] } {
  const used = new Set<NagAcceptance>();
  const uncovered: Finding[] = [];
  const byPath = new Map(root.node.findAll().map((c) => [c.node.path, c]));
  for (const f of findings(report)) {
    const entry = accepted.find((a) => a.rule.test(f.rule) && a.path.test(f.path));
    const construct = byPath.get(f.path);
    if (!entry || !construct) {
      uncovered.push(f);
      continue;
    }
    used.add(entry);
    Validations.of(construct).acknowledge({ id: f.rule, reason: entry.reason });
  }
  return { uncovered, unused: accepted.filter((a) => !used.has(a)) };
}
