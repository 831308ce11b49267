import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { AwsCredentialsProvider } from "../lib/aws/sigv4";
import { SsmSecretStore } from "../lib/aws/ssm-secret-store";
import {
  defaultIo,
  type Io,
  loadOutputs,
  newWebhookSecret,
  parseOptions,
  region,
  resolveUserSub,
  runIfMain,
  serverEnv,
  str,
  TELEGRAM_PARAMETERS,
  UsageError,
} from "./common";

const HELP = `Usage:
  npx tsx ops/set-secret.ts llm-key (--email <address> | --sub <id>) [--outputs <file>]
  npx tsx ops/set-secret.ts telegram [--outputs <file>]

Stores a secret as an SSM Parameter Store SecureString under the app's prefix (SSM_PREFIX
in amplify_outputs.json). The value is read from stdin when piped, otherwise from a prompt
that does not echo; it is never taken as an argument (shell history) nor printed.

  llm-key    a user's LLM provider API key (the settings page does the same)
  telegram   the bot token from @BotFather; a new random webhook secret is stored with it.
             Run register-webhook.ts afterwards.

Uses your AWS credentials; needs ssm:PutParameter on the prefix (and
cognito-idp:AdminGetUser for --email).`;

export interface SetSecretDeps {
  ssm?: SSMClient;
  cognitoEndpoint?: string;
  credentials?: AwsCredentialsProvider;
}

/** Bot API tokens look like `123456789:AA...` (BotFather's format). */
const BOT_TOKEN = /^\d{5,15}:[A-Za-z0-9_-]{30,60}$/;

export async function main(argv: string[], io: Io = defaultIo, deps: SetSecretDeps = {}): Promise<number> {
  const opts = parseOptions(argv, { email: { type: "string" }, sub: { type: "string" } }, HELP, io);
  if (!opts) return 0;
  const what = opts.positionals[0];
  if (what !== "llm-key" && what !== "telegram") throw new UsageError("say what to set: llm-key or telegram");
  const outputs = loadOutputs(opts.values.outputs);
  const env = serverEnv(outputs);
  const ssm = deps.ssm ?? new SSMClient({ region: region(outputs) });

  if (what === "llm-key") {
    const sub = await resolveUserSub(
      {
        region: region(outputs),
        endpoint: deps.cognitoEndpoint,
        credentials: deps.credentials,
        userPoolId: env.USER_POOL_ID,
      },
      { email: str(opts.values.email), sub: str(opts.values.sub) },
    );
    const value = await io.readSecret("LLM API key: ");
    if (!value) throw new UsageError("empty key");
    await new SsmSecretStore({ client: ssm, prefix: env.SSM_PREFIX }).putSecret(sub, "llm-api-key", value);
    io.out(`Stored the LLM API key of ${str(opts.values.email) ?? sub} (${value.length} characters).`);
    return 0;
  }

  const token = await io.readSecret("Telegram bot token: ");
  if (!BOT_TOKEN.test(token))
    throw new UsageError("that does not look like a bot token from @BotFather (<digits>:<35 characters>)");
  const put = (name: string, value: string) =>
    ssm.send(
      new PutParameterCommand({
        Name: `${env.SSM_PREFIX}/${name}`,
        Value: value,
        Type: "SecureString",
        Tier: "Standard",
        Overwrite: true,
      }),
    );
  await put(TELEGRAM_PARAMETERS.botToken, token);
  await put(TELEGRAM_PARAMETERS.webhookSecret, newWebhookSecret());
  io.out(
    `Stored the bot token (bot ${token.split(":")[0]}) and a new webhook secret under ${env.SSM_PREFIX}/telegram/.`,
  );
  io.out("Next: npx tsx ops/register-webhook.ts --identifier <your ampx deploy identifier>");
  return 0;
}

runIfMain(import.meta.url, main);
