import { createServer } from "node:net";

/*
 * The fixed ports of local mode, and the one start-up check of them. Checking every port
 * before anything starts gives a second `npm run dev` one message naming every taken port,
 * instead of a half-started cloud or a message about the first conflict only.
 */

export const HOST = "127.0.0.1";

/** The app's port in `npm run dev`. */
export const APP_PORT = 3000;

/** Fixed ports of the local cloud (documented in docs/local-mode.md). */
export const DEFAULT_PORTS = { dynamodb: 4310, events: 4311, cognito: 4312 } as const;

/** Every port `npm run dev` listens on, checked together before anything starts. */
export const DEV_PORTS = { app: APP_PORT, ...DEFAULT_PORTS } as const;

/** What each port of local mode is for, as a person reads it in an error. */
const PURPOSE: Record<string, string> = {
  app: "the app, next dev",
  dynamodb: "DynamoDB, dynalite",
  events: "AppSync Events emulator",
  cognito: "Cognito, cognito-local",
};

export function portIsFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, host, () => probe.close(() => done(true)));
  });
}

/**
 * Throws one error, starting with `context`, naming every taken port of `ports`
 * (service → port) and what it is for. A port of 0 (pick a free one) is never checked.
 */
export async function assertPortsFree(
  ports: Readonly<Record<string, number>>,
  context: string,
  host = HOST,
): Promise<void> {
  const taken: string[] = [];
  // One probe at a time: two probes of one port at once would see each other.
  for (const [service, port] of Object.entries(ports)) {
    if (port !== 0 && !(await portIsFree(port, host))) taken.push(`${port} (${PURPOSE[service] ?? service})`);
  }
  if (taken.length === 0) return;
  const many = taken.length > 1;
  throw new Error(
    `${context}: port${many ? "s" : ""} ${taken.join(", ")} on ${host} ${many ? "are" : "is"} already in use. Is another \`npm run dev\` running? Stop it, or free the port${many ? "s" : ""}.`,
  );
}
