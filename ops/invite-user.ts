import { z } from "zod";
import type { AwsCredentialsProvider } from "../lib/aws/sigv4";
import {
  cognitoCall,
  defaultIo,
  type Io,
  loadOutputs,
  parseOptions,
  region,
  runIfMain,
  serverEnv,
  str,
  UsageError,
} from "./common";

const HELP = `Usage: npx tsx ops/invite-user.ts --email <address> [--resend] [--outputs <file>]

Invites a user to the app. Self sign-up is off, so this is how anyone gets in: Cognito
creates the user (email marked verified) and emails a temporary password; the first
sign-in asks for a new one.

  --email <address>   who to invite
  --resend            send the invitation again to a user who has not signed in yet
  --outputs <file>    amplify_outputs.json of the deployment (default: ./amplify_outputs.json)

Uses your AWS credentials (AWS_PROFILE, SSO or environment); needs cognito-idp:AdminCreateUser.`;

export interface InviteDeps {
  /** Another Cognito endpoint (cognito-local in tests). */
  cognitoEndpoint?: string;
  credentials?: AwsCredentialsProvider;
}

export async function main(argv: string[], io: Io = defaultIo, deps: InviteDeps = {}): Promise<number> {
  const opts = parseOptions(argv, { email: { type: "string" }, resend: { type: "boolean" } }, HELP, io);
  if (!opts) return 0;
  const email = z.string().email().safeParse(str(opts.values.email));
  if (!email.success) throw new UsageError("--email must be an email address");
  const outputs = loadOutputs(opts.values.outputs);
  const userPoolId = serverEnv(outputs).USER_POOL_ID;
  const cognito = { region: region(outputs), endpoint: deps.cognitoEndpoint, credentials: deps.credentials };
  try {
    await cognitoCall(cognito, "AdminCreateUser", {
      UserPoolId: userPoolId,
      Username: email.data,
      UserAttributes: [
        { Name: "email", Value: email.data },
        { Name: "email_verified", Value: "true" },
      ],
      DesiredDeliveryMediums: ["EMAIL"],
      ...(opts.values.resend ? { MessageAction: "RESEND" } : {}),
    });
  } catch (err) {
    if ((err as Error).name === "UsernameExistsException") {
      io.err(`${email.data} already has an account; use --resend if they never signed in.`);
      return 1;
    }
    throw err;
  }
  io.out(
    `${opts.values.resend ? "Re-sent the invitation to" : "Invited"} ${email.data}: Cognito emails a temporary password.`,
  );
  return 0;
}

runIfMain(import.meta.url, main);
