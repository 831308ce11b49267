import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapters } from "@/lib/adapters";
import { configFromLocalCloud } from "@/lib/env";
import { type LocalCloud, startLocalCloud } from "@/lib/local-cloud/cloud";
import { GET as route } from "./route";

let dir: string;
let cloud: LocalCloud;
let GET: (req: Request) => Promise<Response>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "health-test-"));
  cloud = await startLocalCloud({ stateDir: dir, ports: { dynamodb: 0, events: 0, cognito: 0 } });
  GET = route.with(createAdapters(configFromLocalCloud(cloud.info, cloud.file)));
});

afterAll(async () => {
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /api/health", () => {
  it("reports every local service as ok, with no secrets in the answer", async () => {
    const res = await GET(new Request("http://localhost/api/health"));
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text);
    expect(body.status).toBe("ok");
    expect(Object.keys(body.services).sort()).toEqual(["blobs", "cognito", "dynamodb", "events", "secrets"]);
    for (const s of Object.values(body.services)) expect(s).toMatchObject({ status: "ok" });
    for (const secret of [
      cloud.info.credentials.secretAccessKey,
      cloud.info.events.apiKey,
      cloud.firstUser.password,
    ])
      expect(text).not.toContain(secret);
  });

  it("reports 503 and names the services that stopped answering", async () => {
    await cloud.close();
    const res = await GET(new Request("http://localhost/api/health"));
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe("degraded");
    for (const name of ["dynamodb", "events", "cognito"])
      expect(body.services[name], name).toMatchObject({ status: "down" });
    expect(body.services.blobs).toMatchObject({ status: "ok" });
  });
});
