import { Arn, ArnFormat, Stack } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/**
 * Access to this deployment's SSM parameters only (`<prefix>/...`): LLM API keys per user,
 * the Telegram bot token and webhook secret. SecureStrings use the AWS-managed `aws/ssm`
 * key, whose key policy already lets SSM decrypt for callers of this account, so no KMS
 * statement is needed (and no customer key bills $1/month).
 */
export function parameterStatement(
  scope: Construct,
  prefix: string,
  access: "read" | "read-write",
): PolicyStatement {
  const actions = ["ssm:GetParameter", "ssm:GetParameters"];
  if (access === "read-write")
    actions.push("ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource");
  return new PolicyStatement({
    actions,
    resources: [
      Arn.format(
        {
          service: "ssm",
          resource: "parameter",
          resourceName: `${prefix.replace(/^\//, "")}/*`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        },
        Stack.of(scope),
      ),
    ],
  });
}
