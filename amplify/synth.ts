import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage } from "../lib/errors";

/*
 * `npm run synth`: synthesizes the backend offline into a cloud assembly (no AWS account
 * needed) and runs cdk-nag's AwsSolutions pack with the acceptances of amplify/nag.ts.
 */

const HELP = `Usage: npm run synth [-- --type sandbox|branch|standalone] [--out <dir>]

Synthesizes amplify/backend.ts offline into <dir> (default cdk.out) the way ampx does,
then runs cdk-nag (AwsSolutions). Exit status 1 when a finding is neither fixed nor
accepted with a reason in amplify/nag.ts.`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const type = arg("--type") ?? "sandbox";
  if (!["sandbox", "branch", "standalone"].includes(type))
    throw new Error(`--type must be sandbox, branch or standalone`);
  const out = resolve(arg("--out") ?? "cdk.out");
  process.env.CDK_CONTEXT_JSON = JSON.stringify({
    "amplify-backend-namespace": "local",
    "amplify-backend-name": "synth",
    "amplify-backend-type": type,
  });
  process.env.CDK_OUTDIR = out;
  const { Stage } = await import("aws-cdk-lib");
  const { AwsSolutionsChecks } = await import("cdk-nag");
  const { backend } = await import("./backend");
  const { applyNagAcknowledgements } = await import("./nag");
  Stage.of(backend.stack)?.synth();
  console.log(`cloud assembly: ${out}`);
  const report = new AwsSolutionsChecks().validateScope(backend.stack);
  const { uncovered } = applyNagAcknowledgements(backend.stack, report);
  if (uncovered.length > 0) {
    console.log(`cdk-nag: ${uncovered.length} finding(s) neither fixed nor accepted in amplify/nag.ts:`);
    for (const f of uncovered) console.log(`  ${f.rule}  ${f.path}`);
    return 1;
  }
  console.log(
    `cdk-nag AwsSolutions: ${report.violations.length} rule(s) flagged, all accepted with a reason`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(errorMessage(err));
      process.exit(2);
    },
  );
}
