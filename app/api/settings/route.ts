import { route } from "@/lib/http/route";
import { getSettingsView, updateSettings, updateSettingsSchema } from "@/lib/services/settings";

/** The caller's settings and `hasApiKey`; the key itself is never returned. */
export const GET = route({}, async ({ user, container }) => getSettingsView(container, user.sub));

/** Partial update; `apiKey` is write-only (`null` removes it). */
export const PUT = route({ body: updateSettingsSchema }, async ({ user, body, container }) =>
  updateSettings(container, user.sub, body),
);
