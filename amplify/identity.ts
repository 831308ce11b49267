import type { Construct } from "constructs";

/** Which deployment this synth is for, from the CDK context `ampx` sets. */
export interface BackendId {
  namespace: string;
  name: string;
  type: "sandbox" | "branch" | "standalone";
}

export function readBackendId(scope: Construct): BackendId {
  const namespace = scope.node.tryGetContext("amplify-backend-namespace");
  const name = scope.node.tryGetContext("amplify-backend-name");
  const type = scope.node.tryGetContext("amplify-backend-type");
  if (typeof namespace !== "string" || typeof name !== "string")
    throw new Error("amplify-backend-namespace and amplify-backend-name must be set (run through ampx)");
  if (type !== "sandbox" && type !== "branch" && type !== "standalone")
    throw new Error(`amplify-backend-type must be sandbox, branch or standalone, got ${String(type)}`);
  return { namespace, name, type };
}

/** Lowercase letters, digits and hyphens: safe in SSM names, log group names and IAM conditions. */
function slug(value: string): string {
  const s = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return s.slice(0, 40) || "default";
}

/**
 * The SSM Parameter Store prefix of this deployment's secrets, e.g.
 * `/serverless-openclaw/myapp/main`. Built from plain context strings: a CDK token (such as
 * a nested stack's name) inside a parameter name breaks synthesis.
 */
export function parameterPrefix(id: BackendId): string {
  return `/serverless-openclaw/${slug(id.namespace)}/${slug(id.name)}`;
}

/** A short, stable, readable name part for resources that need an explicit name. */
export function deploymentSlug(id: BackendId): string {
  return `${slug(id.namespace).slice(0, 20)}-${slug(id.name).slice(0, 20)}`;
}
