import { RemovalPolicy } from "aws-cdk-lib";
import type { CfnIdentityPool, CfnUserPool } from "aws-cdk-lib/aws-cognito";

export interface AuthHardening {
  /** Keep the user pool (and its users' `sub`s, which key all their data) when the stack goes. */
  retain: boolean;
}

/**
 * What defineAuth does not expose: no self sign-up (only users the owner invites),
 * a 12-character password policy, no guest (unauthenticated) identities, and deletion
 * protection for deployed apps.
 */
export function hardenAuth(
  resources: { cfnUserPool: CfnUserPool; cfnIdentityPool: CfnIdentityPool },
  opts: AuthHardening,
): void {
  const pool = resources.cfnUserPool;
  pool.adminCreateUserConfig = {
    allowAdminCreateUserOnly: true,
    inviteMessageTemplate: {
      emailSubject: "Your OpenClaw agent invitation",
      emailMessage:
        "You have been invited to a personal OpenClaw agent. Sign in with {username} and the temporary password {####}; you will choose your own password.",
    },
  };
  pool.policies = {
    passwordPolicy: {
      minimumLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireNumbers: true,
      requireSymbols: true,
      temporaryPasswordValidityDays: 7,
    },
  };
  resources.cfnIdentityPool.allowUnauthenticatedIdentities = false;
  if (opts.retain) {
    pool.deletionProtection = "ACTIVE";
    pool.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
