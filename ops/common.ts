import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type AmplifyOutputs, readAmplifyOutputs } from "../amplify/outputs";
import { type AwsCredentialsProvider, defaultCredentialsProvider, signRequest } from "../lib/aws/sigv4";
import { errorMessage } from "../lib/errors";

/*
 * Shared plumbing of the ops scripts (`npx tsx ops/<name>.ts --help`). They
 * read names and endpoints from amplify_outputs.json, use the caller's AWS credentials
 * (the default provider chain: AWS_PROFILE, SSO, environment), and never print a secret.
 */

/** Where the Telegram bot's secrets live under the app's SSM prefix (SSM_PREFIX). */
export const TELEGRAM_PARAMETERS = {
  botToken: "telegram/bot-token",
  webhookSecret: "telegram/webhook-secret",
} as const;

export class UsageError extends Error {}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Reads a secret: from stdin when piped, else a prompt that does not echo. */
  readSecret: (prompt: string) => Promise<string>;
}

export const defaultIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  readSecret,
};

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

export interface ParsedOptions {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `--name value` options (plus --help and --outputs); returns undefined after
 * printing the help for --help. Unknown options are a UsageError.
 */
export function parseOptions(
  argv: string[],
  spec: OptionSpec,
  help: string,
  io: Io,
): ParsedOptions | undefined {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec, help: { type: "boolean", short: "h" }, outputs: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (parsed.values.help) {
    io.out(help);
    return undefined;
  }
  return { values: parsed.values as ParsedOptions["values"], positionals: parsed.positionals };
}

/** The string value of an option, or undefined. */
export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** amplify_outputs.json of the deployment (`--outputs <file>` to pick another). */
export function loadOutputs(file: unknown): AmplifyOutputs {
  return readAmplifyOutputs(typeof file === "string" ? file : "amplify_outputs.json");
}

export function serverEnv(outputs: AmplifyOutputs) {
  return outputs.custom.openclaw.serverEnv;
}

export function region(outputs: AmplifyOutputs): string {
  return outputs.custom.openclaw.region;
}

export interface CognitoOptions {
  region: string;
  /** Another endpoint (cognito-local in tests). */
  endpoint?: string;
  credentials?: AwsCredentialsProvider;
}

/** One Cognito user-pool API call (the JSON protocol, signed with SigV4). */
export async function cognitoCall<T>(opts: CognitoOptions, operation: string, body: unknown): Promise<T> {
  const url = opts.endpoint ?? `https://cognito-idp.${opts.region}.amazonaws.com/`;
  const payload = JSON.stringify(body);
  const headers = await signRequest({
    method: "POST",
    url,
    region: opts.region,
    service: "cognito-idp",
    credentials: opts.credentials ?? defaultCredentialsProvider(),
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${operation}`,
    },
    body: payload,
  });
  const res = await fetch(url, { method: "POST", headers, body: payload });
  const text = await res.text();
  if (!res.ok) {
    let type = res.headers.get("x-amzn-errortype") ?? "";
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { __type?: string; message?: string };
      type ||= parsed.__type ?? "";
      message = parsed.message ?? message;
    } catch {
      // not JSON: keep the raw text
    }
    throw Object.assign(new Error(`Cognito ${operation} failed: ${type.split(":")[0]} ${message}`.trim()), {
      name: type.split(":")[0] || "CognitoError",
    });
  }
  return (text ? JSON.parse(text) : {}) as T;
}

/** Finds a user by email (or takes a sub as it is) and returns the Cognito `sub`. */
export async function resolveUserSub(
  opts: CognitoOptions & { userPoolId: string },
  who: { email?: string; sub?: string },
): Promise<string> {
  if (who.sub) return who.sub;
  if (!who.email) throw new UsageError("name the user with --email <address> or --sub <id>");
  const user = await cognitoCall<{ UserAttributes?: { Name: string; Value: string }[] }>(
    opts,
    "AdminGetUser",
    {
      UserPoolId: opts.userPoolId,
      Username: who.email,
    },
  );
  const sub = user.UserAttributes?.find((a) => a.Name === "sub")?.Value;
  if (!sub) throw new Error(`no sub for ${who.email}`);
  return sub;
}

/** 32 random bytes, URL-safe: Telegram allows A-Z, a-z, 0-9, _ and - in secret_token. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString("base64url");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a secret without echoing it: piped stdin, or a TTY prompt with echo off. */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return (await readStdin()).trim();
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let value = "";
  try {
    return await new Promise<string>((done, fail) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            done(value.trim());
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            fail(new Error("cancelled"));
            return;
          }
          value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}

/** Runs a script's main when the file is executed directly (`tsx ops/x.ts`). */
export function runIfMain(url: string, main: (argv: string[], io: Io) => Promise<number>): void {
  if (!process.argv[1] || url !== pathToFileURL(resolve(process.argv[1])).href) return;
  main(process.argv.slice(2), defaultIo).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof UsageError ? `usage: ${err.message} (see --help)` : errorMessage(err));
      process.exit(err instanceof UsageError ? 64 : 1);
    },
  );
}
