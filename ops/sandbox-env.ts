import { writeFileSync } from "node:fs";
import { defaultIo, type Io, loadOutputs, parseOptions, region, runIfMain, serverEnv, str } from "./common";

const HELP = `Usage: npx tsx ops/sandbox-env.ts [--write <file>] [--outputs <file>]

Prints the server configuration of a deployed backend (after \`npx ampx sandbox\`) as
environment variables, the names lib/env.ts reads (APP_MODE=aws, TABLE_NAME, ...).
With --write, writes them to a file instead, e.g. .env.development.local, which
\`next dev\` loads and production builds ignore. Names and endpoints only: no secret.`;

export function renderEnv(lines: Record<string, string>): string {
  return `${Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const opts = parseOptions(argv, { write: { type: "string" } }, HELP, io);
  if (!opts) return 0;
  const outputs = loadOutputs(opts.values.outputs);
  const text = renderEnv({ ...serverEnv(outputs), AWS_REGION: region(outputs) });
  const file = str(opts.values.write);
  if (file) {
    writeFileSync(file, `# Written by ops/sandbox-env.ts from amplify_outputs.json\n${text}`);
    io.out(`Wrote ${file}`);
  } else io.out(text.trimEnd());
  return 0;
}

runIfMain(import.meta.url, main);
