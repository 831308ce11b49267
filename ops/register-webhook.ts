import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { z } from "zod";
import { appUrl } from "./app-url";
import {
  defaultIo,
  type Io,
  loadOutputs,
  parseOptions,
  region,
  runIfMain,
  serverEnv,
  str,
  TELEGRAM_PARAMETERS,
  UsageError,
} from "./common";

const HELP = `Usage: npx tsx ops/register-webhook.ts (--identifier <id> | --url <app url>) [--outputs <file>]

Points the Telegram bot at the app: setWebhook to <app url>/api/telegram with the webhook
secret stored by \`set-secret.ts telegram\` (Telegram sends it in the
X-Telegram-Bot-Api-Secret-Token header; the app rejects updates without it).

  --identifier <id>   the \`npx ampx deploy --identifier\` name: the URL is looked up
  --url <app url>     or give the app's https URL yourself (e.g. a custom domain)
  --api-root <url>    another Bot API server (default https://api.telegram.org)

Uses your AWS credentials; needs ssm:GetParameter on the app's prefix.`;

export interface RegisterDeps {
  ssm?: SSMClient;
  cfn?: CloudFormationClient;
}

const telegramReply = z.object({
  ok: z.boolean(),
  description: z.string().optional(),
  result: z.unknown().optional(),
});

export async function main(argv: string[], io: Io = defaultIo, deps: RegisterDeps = {}): Promise<number> {
  const opts = parseOptions(
    argv,
    { identifier: { type: "string" }, url: { type: "string" }, "api-root": { type: "string" } },
    HELP,
    io,
  );
  if (!opts) return 0;
  const outputs = loadOutputs(opts.values.outputs);
  const env = serverEnv(outputs);
  const identifier = str(opts.values.identifier);
  let base = str(opts.values.url);
  if (!base && !identifier) throw new UsageError("give --identifier or --url");
  if (!base)
    base = await appUrl(
      deps.cfn ?? new CloudFormationClient({ region: region(outputs) }),
      identifier as string,
    );
  const url = new URL("/api/telegram", base);
  if (url.protocol !== "https:" && url.hostname !== "127.0.0.1")
    throw new UsageError("Telegram only calls https webhooks");

  const ssm = deps.ssm ?? new SSMClient({ region: region(outputs) });
  const read = async (name: string) => {
    const res = await ssm.send(
      new GetParameterCommand({ Name: `${env.SSM_PREFIX}/${name}`, WithDecryption: true }),
    );
    const value = res.Parameter?.Value;
    if (!value) throw new Error(`${env.SSM_PREFIX}/${name} is empty: run set-secret.ts telegram first`);
    return value;
  };
  const token = await read(TELEGRAM_PARAMETERS.botToken);
  const secret = await read(TELEGRAM_PARAMETERS.webhookSecret);
  const apiRoot = (str(opts.values["api-root"]) ?? "https://api.telegram.org").replace(/\/$/, "");

  // The request URL contains the token: it is never printed, and errors say only what Telegram said.
  const res = await fetch(`${apiRoot}/bot${token}/setWebhook`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      url: url.href,
      secret_token: secret,
      allowed_updates: ["message", "edited_message", "callback_query"],
      drop_pending_updates: false,
    }),
  });
  const body = telegramReply.safeParse(await res.json().catch(() => ({})));
  if (!res.ok || !body.success || !body.data.ok) {
    io.err(
      `Telegram refused the webhook (HTTP ${res.status}): ${body.success ? (body.data.description ?? "no description") : "unexpected reply"}`,
    );
    return 1;
  }
  io.out(`Telegram now sends the bot's updates to ${url.href}`);
  return 0;
}

runIfMain(import.meta.url, main);
