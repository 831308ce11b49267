import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { z } from "zod";

/*
 * The local Cognito: cognito-local 5.3 running in this process, behind one small HTTP
 * handler on 127.0.0.1 that adds what cognito-local lacks:
 *
 * - `GetTokensFromRefreshToken`, which aws-amplify 6.22 calls to refresh tokens. It is
 *   answered with cognito-local's own `InitiateAuth` REFRESH_TOKEN_AUTH flow.
 *
 * Everything else goes to cognito-local's express app unchanged. Its data (user pools,
 * app clients, users) lives in `dir` as JSON files, so it survives a restart.
 *
 * cognito-local signs with a key pair that ships in its npm package: anyone can mint a
 * token for its issuer. The composition root accepts that issuer in local mode only.
 */

const cognitoRequire = createRequire(createRequire(import.meta.url).resolve("cognito-local"));

/** What a target of cognito-local's router looks like. */
type Target = (ctx: { logger: unknown }, req: unknown) => Promise<unknown>;

interface CognitoLocalModules {
  createServer: (
    router: (name: string) => Target,
    logger: unknown,
    options: Record<string, unknown>,
    services: unknown,
  ) => { application: (req: IncomingMessage, res: ServerResponse) => void };
  Router: (services: unknown) => (name: string) => Target;
  DateClock: new () => { get(): Date };
  TriggersService: new (clock: unknown, cognito: unknown, lambda: unknown, crypto: unknown) => unknown;
  LambdaService: new (config: unknown, client: unknown) => unknown;
  MessagesService: new (triggers: unknown, delivery: unknown) => unknown;
  MessageDeliveryService: new (sender: unknown) => unknown;
  ConsoleMessageSender: new () => unknown;
  CognitoServiceFactoryImpl: new (
    dir: string,
    stores: unknown,
    pools: unknown,
  ) => { create(ctx: unknown, defaults: unknown): Promise<unknown> };
  UserPoolServiceFactoryImpl: new (clock: unknown, stores: unknown) => unknown;
  StormDBDataStoreFactory: new (dir: string) => unknown;
  JwtTokenGenerator: new (clock: unknown, triggers: unknown, config: { IssuerDomain: string }) => unknown;
  otp: () => string;
  CognitoError: new (...args: never[]) => Error & { code: string };
  pino: (opts: { level: string }) => unknown;
}

function loadCognitoLocal(): CognitoLocalModules {
  const r = (path: string) => cognitoRequire(`cognito-local/lib/${path}`);
  // Deliberately not lib/server/defaults.js nor lib/services/crypto.js: they load aws-sdk v2
  // for Lambda triggers and KMS, which local mode does not use.
  return {
    createServer: r("server/server.js").createServer,
    Router: r("server/Router.js").Router,
    DateClock: r("services/clock.js").DateClock,
    TriggersService: r("services/triggers/triggers.js").TriggersService,
    LambdaService: r("services/lambda.js").LambdaService,
    MessagesService: r("services/messages.js").MessagesService,
    MessageDeliveryService: r("services/messageDelivery/messageDelivery.js").MessageDeliveryService,
    ConsoleMessageSender: r("services/messageDelivery/consoleMessageSender.js").ConsoleMessageSender,
    CognitoServiceFactoryImpl: r("services/cognitoService.js").CognitoServiceFactoryImpl,
    UserPoolServiceFactoryImpl: r("services/userPoolService.js").UserPoolServiceFactoryImpl,
    StormDBDataStoreFactory: r("services/dataStore/stormDb.js").StormDBDataStoreFactory,
    JwtTokenGenerator: r("services/tokenGenerator.js").JwtTokenGenerator,
    otp: r("services/otp.js").otp,
    CognitoError: r("errors.js").CognitoError,
    pino: cognitoRequire("pino"),
  };
}

export interface LocalCognitoOptions {
  /** Folder for cognito-local's JSON data files (created if missing). */
  dir: string;
  /** 0 (the default) picks a free port. A port in use is an error, never a wait. */
  port?: number;
}

export interface LocalCognito {
  /** `http://127.0.0.1:PORT`: aws-amplify's `userPoolEndpoint`. */
  endpoint: string;
  port: number;
  /** The `iss` of tokens for a pool: `http://127.0.0.1:PORT/<poolId>`. */
  issuer(userPoolId: string): string;
  jwksUri(userPoolId: string): string;
  /** Calls a Cognito API target in-process (admin operations need no credentials locally). */
  call<T = Record<string, unknown>>(target: string, request: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** The Cognito error shape: `{ __type, message }` with status 400, like the real service. */
function sendCognitoError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "x-amzn-errortype": type,
    "access-control-allow-origin": "*",
  });
  res.end(JSON.stringify({ __type: type, message }));
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const refreshRequestSchema = z.object({
  ClientId: z.string().min(1),
  RefreshToken: z.string().min(1),
  ClientSecret: z.string().optional(),
  DeviceKey: z.string().optional(),
  ClientMetadata: z.record(z.string(), z.string()).optional(),
});

function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((done, fail) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      fail(
        err.code === "EADDRINUSE"
          ? new Error(
              `cognito: port ${port} on 127.0.0.1 is already in use (another \`npm run dev\`?). Stop that process or choose other ports.`,
            )
          : err,
      );
    };
    const onListening = () => {
      server.off("error", onError);
      done((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, "127.0.0.1");
  });
}

/** Starts cognito-local with the refresh-token handler on 127.0.0.1. */
export async function startLocalCognito(opts: LocalCognitoOptions): Promise<LocalCognito> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const m = loadCognitoLocal();

  // Listen first: the issuer contains the port, and port 0 is only known after listening.
  let app: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let refresh: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    if (req.method === "POST" && target.endsWith(".GetTokensFromRefreshToken") && refresh) {
      refresh(req, res).catch((err: unknown) => {
        console.error("[cognito] GetTokensFromRefreshToken failed:", err);
        if (!res.headersSent) sendCognitoError(res, 500, "InternalErrorException", "internal error");
      });
      return;
    }
    if (!app) {
      sendCognitoError(res, 503, "ServiceUnavailableException", "starting");
      return;
    }
    app(req, res);
  });
  const port = await listen(server, opts.port ?? 0);
  const endpoint = `http://127.0.0.1:${port}`;

  try {
    const logger = m.pino({ level: "silent" });
    const ctx = { logger };
    const clock = new m.DateClock();
    const stores = new m.StormDBDataStoreFactory(dir);
    const cognito = await new m.CognitoServiceFactoryImpl(
      dir,
      stores,
      new m.UserPoolServiceFactoryImpl(clock, stores),
    ).create(ctx, { UsernameAttributes: ["email"] });
    const noCrypto = {
      encrypt: () => Promise.reject(new Error("CustomEmailSender triggers are not supported locally")),
    };
    const triggers = new m.TriggersService(clock, cognito, new m.LambdaService({}, {}), noCrypto);
    const services = {
      clock,
      cognito,
      config: { TriggerFunctions: {}, UserPoolDefaults: { UsernameAttributes: ["email"] } },
      messages: new m.MessagesService(triggers, new m.MessageDeliveryService(new m.ConsoleMessageSender())),
      otp: m.otp,
      tokenGenerator: new m.JwtTokenGenerator(clock, triggers, { IssuerDomain: endpoint }),
      triggers,
    };
    const router = m.Router(services);
    app = m.createServer(router, logger, { development: false }, services).application;

    const call = async <T>(target: string, request: Record<string, unknown>): Promise<T> =>
      (await router(target)(ctx, request)) as T;

    refresh = async (req, res) => {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch {
        sendCognitoError(res, 400, "InvalidParameterException", "request body is not valid JSON");
        return;
      }
      const parsed = refreshRequestSchema.safeParse(body);
      if (!parsed.success) {
        sendCognitoError(res, 400, "InvalidParameterException", "ClientId and RefreshToken are required");
        return;
      }
      try {
        const out = await call<{ AuthenticationResult?: { AccessToken?: string; IdToken?: string } }>(
          "InitiateAuth",
          {
            AuthFlow: "REFRESH_TOKEN_AUTH",
            ClientId: parsed.data.ClientId,
            AuthParameters: { REFRESH_TOKEN: parsed.data.RefreshToken },
            ClientMetadata: parsed.data.ClientMetadata,
          },
        );
        const access = out.AuthenticationResult?.AccessToken;
        if (!access) throw new Error("cognito-local returned no access token");
        const claims = decodeJwtPayload(access);
        const expiresIn = Number(claims.exp) - Number(claims.iat);
        res.writeHead(200, {
          "content-type": "application/x-amz-json-1.1",
          "access-control-allow-origin": "*",
        });
        // No RefreshToken: rotation is off, so the client keeps the one it has (as AWS does).
        res.end(
          JSON.stringify({
            AuthenticationResult: {
              AccessToken: access,
              IdToken: out.AuthenticationResult?.IdToken,
              ExpiresIn: Number.isFinite(expiresIn) ? expiresIn : 3600,
              TokenType: "Bearer",
            },
          }),
        );
      } catch (err) {
        if (err instanceof m.CognitoError) {
          sendCognitoError(res, 400, err.code, err.message);
          return;
        }
        // cognito-local throws a plain error for an unknown client; AWS says NotAuthorized.
        if (err instanceof Error && /not found/i.test(err.message)) {
          sendCognitoError(res, 400, "NotAuthorizedException", "Invalid refresh token or client");
          return;
        }
        throw err;
      }
    };

    let closing: Promise<void> | undefined;
    return {
      endpoint,
      port,
      issuer: (poolId) => `${endpoint}/${poolId}`,
      jwksUri: (poolId) => `${endpoint}/${poolId}/.well-known/jwks.json`,
      call,
      close: () => {
        closing ??= new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
        return closing;
      },
    };
  } catch (err) {
    server.close();
    server.closeAllConnections();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// The local user pool, app client and first user.

const setupSchema = z.object({ userPoolId: z.string(), clientId: z.string() });
const firstUserSchema = z.object({ email: z.string(), password: z.string() });

export interface LocalAuthSetup {
  userPoolId: string;
  clientId: string;
  /** The first user's credentials (also in `<stateDir>/first-user.json`, mode 0600). */
  firstUser: { email: string; password: string };
  /** True when this call created the pool and the user (print the credentials then). */
  created: boolean;
}

export const FIRST_USER_EMAIL = "owner@example.com";

/** A password that satisfies Cognito's default policy (upper, lower, digit, symbol, 8+). */
export function generatePassword(): string {
  return `Oc-${randomBytes(12).toString("base64url")}-7a`;
}

function writeSecretFile(file: string, data: unknown): void {
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync's mode only applies to new files
}

/**
 * Creates the user pool (sign-up off, email as username), the app client
 * (USER_PASSWORD_AUTH and refresh) and the first user on first start, and reuses them
 * afterwards. The ids live in `<stateDir>/cognito-setup.json`, the first user's
 * credentials in `<stateDir>/first-user.json` (0600).
 */
export async function ensureLocalAuth(cognito: LocalCognito, stateDir: string): Promise<LocalAuthSetup> {
  const setupFile = join(stateDir, "cognito-setup.json");
  const userFile = join(stateDir, "first-user.json");
  if (existsSync(setupFile) && existsSync(userFile)) {
    const setup = setupSchema.parse(JSON.parse(readFileSync(setupFile, "utf8")));
    const firstUser = firstUserSchema.parse(JSON.parse(readFileSync(userFile, "utf8")));
    const exists = await cognito
      .call("DescribeUserPoolClient", { UserPoolId: setup.userPoolId, ClientId: setup.clientId })
      .then(
        () => true,
        () => false,
      );
    if (exists) return { ...setup, firstUser, created: false };
  }

  const pool = await cognito.call<{ UserPool: { Id: string } }>("CreateUserPool", {
    PoolName: "openclaw-local",
    UsernameAttributes: ["email"],
    AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
  });
  const userPoolId = pool.UserPool.Id;
  const client = await cognito.call<{ UserPoolClient: { ClientId: string } }>("CreateUserPoolClient", {
    UserPoolId: userPoolId,
    ClientName: "web",
    ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    GenerateSecret: false,
  });
  const clientId = client.UserPoolClient.ClientId;
  const firstUser = { email: FIRST_USER_EMAIL, password: generatePassword() };
  await createLocalUser(cognito, userPoolId, firstUser);
  mkdirSync(stateDir, { recursive: true });
  writeSecretFile(userFile, firstUser);
  writeFileSync(setupFile, `${JSON.stringify({ userPoolId, clientId }, null, 2)}\n`);
  return { userPoolId, clientId, firstUser, created: true };
}

/**
 * Creates a confirmed user with a permanent password, or with a temporary one
 * (`temporary: true`: the first sign-in then answers NEW_PASSWORD_REQUIRED). Returns the
 * user's `sub`. For tests and scripts: local mode has no self sign-up.
 */
export async function createLocalUser(
  cognito: LocalCognito,
  userPoolId: string,
  user: { email: string; password: string; temporary?: boolean },
): Promise<{ sub: string }> {
  const created = await cognito.call<{ User: { Attributes?: { Name: string; Value: string }[] } }>(
    "AdminCreateUser",
    {
      UserPoolId: userPoolId,
      Username: user.email,
      TemporaryPassword: user.password,
      MessageAction: "SUPPRESS",
      UserAttributes: [
        { Name: "email", Value: user.email },
        { Name: "email_verified", Value: "true" },
      ],
    },
  );
  if (!user.temporary) {
    await cognito.call("AdminSetUserPassword", {
      UserPoolId: userPoolId,
      Username: user.email,
      Password: user.password,
      Permanent: true,
    });
  }
  const sub = created.User.Attributes?.find((a) => a.Name === "sub")?.Value;
  if (!sub) throw new Error("cognito-local created a user without a sub");
  return { sub };
}
