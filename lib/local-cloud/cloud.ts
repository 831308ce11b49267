import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { JwtTokenVerifier } from "../aws/jwt-token-verifier";
import { type LocalCloudInfo, localCloudInfoSchema } from "../env";
import { ensureLocalAuth, type LocalCognito, startLocalCognito } from "./cognito";
import { DEFAULT_TABLE_NAME, type LocalDynamo, startLocalDynamo } from "./dynamo";
import { type EventsServer, startEventsServer } from "./events";
import { APP_PORT, assertPortsFree, DEFAULT_PORTS } from "./ports";

/*
 * The embedded local cloud that `npm run dev` starts: DynamoDB (dynalite), AppSync Events
 * (our emulator), Cognito (cognito-local behind the refresh-token handler), a filesystem
 * blob store and an encrypted-file secret store, all on 127.0.0.1, with their state in one
 * folder. Its endpoints and local credentials go to `<stateDir>/cloud.json`
 * (`localCloudInfoSchema` in lib/env.ts); see docs/local-mode.md.
 *
 * State folder layout:
 *   cloud.json            endpoints, ports, local credentials (0600), rewritten on every start
 *   credentials.json      local IAM key pair and events API key, generated once (0600)
 *   first-user.json       the first user's email and password (0600)
 *   cognito-setup.json    user pool and app client ids
 *   cognito/              cognito-local's data (pools, clients, users)
 *   dynamodb/             dynalite's LevelDB
 *   blobs/                the filesystem blob store
 *   secrets/              the encrypted secret store
 *   runtime/              local agent runtimes (one folder per user)
 */

export { DEFAULT_PORTS } from "./ports";
export const DEFAULT_APP_URL = `http://localhost:${APP_PORT}`;
export const LOCAL_REGION = "us-east-1";
const MARKER = ".openclaw-local-state";

export interface LocalCloudOptions {
  /** The state folder; created if missing. */
  stateDir: string;
  /** Ports per service; DEFAULT_PORTS when absent, 0 picks a free one (tests). */
  ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
  /** Wipe the state folder first (`npm run dev -- --reset`). */
  reset?: boolean;
  /** Where the Next.js app will listen (written to cloud.json). */
  appUrl?: string;
  /** One line per notable event (rejected events requests ...); never credentials. Default silent. */
  log?: (line: string) => void;
}

export interface LocalCloud {
  info: LocalCloudInfo;
  /** Absolute path of `cloud.json`. */
  file: string;
  /** The first user's credentials. */
  firstUser: { email: string; password: string };
  /** True when this start created the user pool and the first user (print the credentials). */
  firstStart: boolean;
  close(): Promise<void>;
}

const credentialsSchema = z.object({
  accessKeyId: z.string().min(16),
  secretAccessKey: z.string().min(30),
  apiKey: z.string().min(20),
});

function writePrivate(file: string, data: unknown): void {
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The local IAM identity and API key: random, generated on first start, then kept. */
function loadOrCreateCredentials(stateDir: string): z.infer<typeof credentialsSchema> {
  const file = join(stateDir, "credentials.json");
  if (existsSync(file)) {
    const parsed = credentialsSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (parsed.success) return parsed.data;
  }
  const creds = {
    accessKeyId: `AKIALOCAL${randomBytes(8).toString("hex").toUpperCase()}`.slice(0, 20),
    secretAccessKey: randomBytes(30).toString("base64url"),
    apiKey: `da2-local${randomBytes(16).toString("hex")}`,
  };
  writePrivate(file, creds);
  return creds;
}

/** Wipes the state folder, refusing anything that does not look like one. */
function resetStateDir(stateDir: string): void {
  if (!existsSync(stateDir)) return;
  const entries = readdirSync(stateDir);
  if (entries.length > 0 && !entries.includes(MARKER))
    throw new Error(
      `refusing to reset ${stateDir}: it is not a local cloud state folder (no ${MARKER} file). Delete it yourself if you mean it.`,
    );
  rmSync(stateDir, { recursive: true, force: true });
}

/**
 * Starts the local cloud. Data survives a restart with the same `stateDir`. A taken port is
 * an error naming the service and the port; everything started so far is stopped again.
 */
export async function startLocalCloud(opts: LocalCloudOptions): Promise<LocalCloud> {
  const stateDir = resolve(opts.stateDir);
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  // Before any reset: a running instance's state must not be wiped under it.
  await assertPortsFree(ports, "cannot start the local cloud");
  if (opts.reset) resetStateDir(stateDir);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, MARKER), "The local cloud of `npm run dev`. Safe to delete.\n");
  const dirs = {
    cognito: join(stateDir, "cognito"),
    dynamodb: join(stateDir, "dynamodb"),
    blobs: join(stateDir, "blobs"),
    secrets: join(stateDir, "secrets"),
    runtime: join(stateDir, "runtime"),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  // The secret store's folder holds encrypted API keys: keep it private.
  chmodSync(dirs.secrets, 0o700);

  const creds = loadOrCreateCredentials(stateDir);
  const log = opts.log ?? (() => undefined);

  const started: { close(): Promise<void> }[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.reverse().map((s) => s.close()));
  };

  try {
    const cognito: LocalCognito = await startLocalCognito({ dir: dirs.cognito, port: ports.cognito });
    started.push(cognito);
    const auth = await ensureLocalAuth(cognito, stateDir);
    const issuer = cognito.issuer(auth.userPoolId);
    const jwksUri = cognito.jwksUri(auth.userPoolId);
    const verifier = new JwtTokenVerifier({
      issuer,
      jwksUri,
      clientId: auth.clientId,
      allowInsecureJwks: true,
    });

    const [dynamo, events] = await Promise.allSettled([
      startLocalDynamo({
        port: ports.dynamodb,
        dataDir: dirs.dynamodb,
        tableName: DEFAULT_TABLE_NAME,
        region: LOCAL_REGION,
      }),
      startEventsServer({
        port: ports.events,
        region: LOCAL_REGION,
        apiKey: creds.apiKey,
        iamCredentials: [{ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }],
        verifyUserToken: (jwt) => verifier.verify(jwt),
        log,
      }),
    ]);
    if (dynamo.status === "fulfilled") started.push(dynamo.value);
    if (events.status === "fulfilled") started.push(events.value);
    if (dynamo.status === "rejected") throw dynamo.reason;
    if (events.status === "rejected") throw events.reason;
    const db: LocalDynamo = dynamo.value;
    const ev: EventsServer = events.value;

    const info: LocalCloudInfo = localCloudInfoSchema.parse({
      version: 1,
      region: LOCAL_REGION,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      dynamodb: { endpoint: db.endpoint, tableName: db.tableName },
      blobs: { dir: dirs.blobs },
      secrets: { dir: dirs.secrets },
      cognito: {
        endpoint: cognito.endpoint,
        userPoolId: auth.userPoolId,
        clientId: auth.clientId,
        issuer,
        jwksUri,
      },
      events: {
        httpEndpoint: ev.httpEndpoint,
        realtimeEndpoint: ev.realtimeEndpoint,
        apiKey: creds.apiKey,
      },
      appUrl: opts.appUrl ?? DEFAULT_APP_URL,
      stateDir,
    } satisfies LocalCloudInfo);
    const file = join(stateDir, "cloud.json");
    writePrivate(file, info);

    let closing: Promise<void> | undefined;
    return {
      info,
      file,
      firstUser: auth.firstUser,
      firstStart: auth.created,
      close: () => {
        closing ??= stopAll();
        return closing;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
