import { defineAuth } from "@aws-amplify/backend";
import { deployOptions } from "../options";

const { mfa } = deployOptions();

/**
 * Cognito with email sign-in. Self sign-up is switched off in harden.ts (the owner invites
 * users with `ops/invite-user.ts`); TOTP is optional by default
 * (OPENCLAW_MFA=required|off changes it). Account recovery by email only.
 */
export const auth = defineAuth({
  loginWith: { email: true },
  accountRecovery: "EMAIL_ONLY",
  multifactor:
    mfa === "off" ? { mode: "OFF" } : { mode: mfa === "required" ? "REQUIRED" : "OPTIONAL", totp: true },
});
