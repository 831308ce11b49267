import type { AppConfig } from "@/lib/env";
import { json, route } from "@/lib/http/route";
import { checkLocalServices } from "@/lib/local-cloud/health";

export const dynamic = "force-dynamic";

/**
 * `200 {status:"ok"}` when every service answers, `503 {status:"degraded"}` when one does
 * not. Local mode checks each local server; no endpoints or credentials are returned.
 */
export const GET = route({ auth: false }, async ({ container }) => {
  let config: AppConfig;
  try {
    config = container.config;
  } catch (err) {
    return json({ status: "down", error: err instanceof Error ? err.message : "invalid configuration" }, 503);
  }
  if (config.mode !== "local") return json({ status: "ok", mode: config.mode });
  const services = await checkLocalServices(config);
  const ok = Object.values(services).every((s) => s.status === "ok");
  return json({ status: ok ? "ok" : "degraded", mode: "local", services }, ok ? 200 : 503);
});
