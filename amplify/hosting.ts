import { defineHosting } from "@aws-amplify/hosting";
import { CfnOutput } from "aws-cdk-lib";
import { readAmplifyOutputs } from "./outputs";
import { attachServerAccess, serverHostingProps } from "./server/hosting-config";

/*
 * The web app: `npx ampx deploy` deploys the backend, writes amplify_outputs.json, then
 * imports this file, which builds the app with @opennextjs/aws and serves it from
 * CloudFront + S3 + Lambda (docs/deploy.md). No buildCommand: the Next.js adapter runs the
 * build itself. @aws-amplify/hosting is a preview package (docs/deploy.md says what that
 * means and what the alternative is).
 */

const outputs = readAmplifyOutputs();
const hosting = defineHosting({ framework: "nextjs", ...serverHostingProps(outputs) });
attachServerAccess(hosting.stack, outputs);
// For ops/app-url.ts and ops/register-webhook.ts.
new CfnOutput(hosting.stack, "AppUrl", { value: hosting.resources.distributionUrl });
