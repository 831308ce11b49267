import { route } from "@/lib/http/route";
import { getSettingsView, updateSettings, updateSettingsSchema } from "@/lib/services/settings";
import { webPorts } from "@/lib/services/web-ports";

/** The caller's settings and `hasApiKey`; the key itself is never returned. */
export const GET = route({}, async ({ user }) => getSettingsView(webPorts(), user.sub));

/** Partial update; `apiKey` is write-only (`null` removes it). */
export const PUT = route({ body: updateSettingsSchema }, async ({ user, body }) =>
  updateSettings(webPorts(), user.sub, body),
);
