import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { APP_PORT, assertPortsFree, DEFAULT_PORTS, DEV_PORTS, portIsFree } from "./ports";

const open: Server[] = [];

/** Binds an ephemeral port on 127.0.0.1 and keeps it until the test ends. */
async function occupy(): Promise<number> {
  const server = createServer();
  open.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise<void>((done) => s.close(() => done()))));
});

describe("portIsFree", () => {
  it("tells a taken port from a free one", async () => {
    expect(await portIsFree(await occupy())).toBe(false);
    expect(await portIsFree(await freePort())).toBe(true);
  });
});

describe("assertPortsFree", () => {
  it("names every taken port and what it is for in one message", async () => {
    const app = await occupy();
    const events = await occupy();
    const dynamodb = await freePort();
    const err = await assertPortsFree({ app, dynamodb, events }, "npm run dev").then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^npm run dev: ports /);
    expect(err?.message).toContain(`${app} (the app, next dev)`);
    expect(err?.message).toContain(`${events} (AppSync Events emulator)`);
    expect(err?.message).not.toContain(String(dynamodb));
  });

  it("passes when every port is free and never probes port 0", async () => {
    await expect(assertPortsFree({ app: await freePort(), events: 0 }, "x")).resolves.toBeUndefined();
  });

  it("covers the app and every port of the local cloud in npm run dev's check", () => {
    expect(DEV_PORTS).toEqual({ app: APP_PORT, ...DEFAULT_PORTS });
  });
});
