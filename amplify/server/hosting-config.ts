import { AmplifyHostingConstruct } from "@aws-amplify/hosting/constructs";
import { Stack } from "aws-cdk-lib";
import { ManagedPolicy } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";
import type { AmplifyOutputs } from "../outputs";

/*
 * The web app's side of the deploy, shared by amplify/hosting.ts (the real deploy) and the
 * hosting synthesis test (the same props on the standalone construct).
 */

/** The props hosting.ts adds to `defineHosting({ framework: "nextjs" })`. */
export interface ServerHostingProps {
  /** Names and endpoints the server reads through lib/env.ts; no secret is among them. */
  environment: Record<string, string>;
  /** The default alarms add a KMS key, an SNS topic and alarms (about $1.50/month idle). */
  monitoring: { enabled: boolean };
}

export function serverHostingProps(outputs: AmplifyOutputs): ServerHostingProps {
  return {
    environment: { ...outputs.custom.openclaw.serverEnv },
    monitoring: { enabled: false },
  };
}

/** The SSR function(s): the regional `default`/`server` compute of every hosting construct below `scope`. */
export function ssrFunctions(scope: IConstruct) {
  return scope.node
    .findAll()
    .filter((c): c is AmplifyHostingConstruct => c instanceof AmplifyHostingConstruct)
    .flatMap((h) => ["default", "server"].flatMap((name) => h.computeFunctions.get(name) ?? []));
}

/**
 * Attaches the backend's server policy (amplify/server/resource.ts) to the SSR function's
 * role. The hosting stack cannot reference backend resources, so the policy arrives by the
 * ARN published in amplify_outputs.json.
 */
export function attachServerAccess(scope: IConstruct, outputs: AmplifyOutputs): void {
  const fns = ssrFunctions(scope);
  if (fns.length === 0)
    throw new Error("no SSR function found in the hosting stack: is the app built as a Next.js server app?");
  for (const [i, fn] of fns.entries()) {
    if (!fn.role) throw new Error(`SSR function ${fn.node.path} has no role to attach the server policy to`);
    fn.role.addManagedPolicy(
      ManagedPolicy.fromManagedPolicyArn(
        Stack.of(fn),
        `OpenclawServerPolicy${i}`,
        outputs.custom.openclaw.serverPolicyArn,
      ),
    );
  }
}
