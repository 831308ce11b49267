import { ManagedPolicy, type PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

export interface ServerAccessProps {
  /** Everything the Next.js server side may do (tables, ECS launch, events publish, SSM). */
  statements: PolicyStatement[];
}

/**
 * The permissions of the server side of the Next.js app, as one managed policy. The hosting
 * stack is deployed separately and cannot reference backend resources, so hosting.ts
 * attaches this policy to the SSR function's role by its ARN (published in
 * amplify_outputs.json). The policy itself is built here, from the real resources, where
 * the synthesis tests can check it.
 */
export class ServerAccess extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: ServerAccessProps) {
    super(scope, id);
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "serverless-openclaw: server side of the Next.js app (SSR function)",
      statements: props.statements,
    });
  }
}
