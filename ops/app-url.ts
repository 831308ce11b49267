import { BackendIdentifierConversions } from "@aws-amplify/platform-core";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { defaultIo, type Io, loadOutputs, parseOptions, region, runIfMain, str, UsageError } from "./common";

const HELP = `Usage: npx tsx ops/app-url.ts --identifier <id> [--outputs <file>]

Prints the web app's URL: the AppUrl output of the hosting stack that
\`npx ampx deploy --identifier <id>\` created. (A sandbox has no hosting: run
\`npm run dev\` and open http://localhost:3000.)

Uses your AWS credentials; needs cloudformation:DescribeStacks.`;

/** The hosting stack `ampx deploy --identifier <id>` deploys (its naming, from @aws-amplify/platform-core). */
export function hostingStackName(identifier: string): string {
  return BackendIdentifierConversions.toStackName({
    namespace: identifier,
    name: "hosting",
    type: "standalone",
  });
}

export async function appUrl(cfn: CloudFormationClient, identifier: string): Promise<string> {
  const stackName = hostingStackName(identifier);
  const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const url = res.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === "AppUrl")?.OutputValue;
  if (!url)
    throw new Error(
      `stack ${stackName} has no AppUrl output: was the frontend deployed with this repository's amplify/hosting.ts?`,
    );
  return url.replace(/\/$/, "");
}

export async function main(
  argv: string[],
  io: Io = defaultIo,
  deps: { cfn?: CloudFormationClient } = {},
): Promise<number> {
  const opts = parseOptions(argv, { identifier: { type: "string" } }, HELP, io);
  if (!opts) return 0;
  const identifier = str(opts.values.identifier);
  if (!identifier) throw new UsageError("--identifier is the name given to `npx ampx deploy --identifier`");
  const cfn = deps.cfn ?? new CloudFormationClient({ region: region(loadOutputs(opts.values.outputs)) });
  io.out(await appUrl(cfn, identifier));
  return 0;
}

runIfMain(import.meta.url, main);
