import { toPublicConfig } from "@/lib/client/public-config";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** What the browser needs to configure aws-amplify: public ids and endpoints only, never secrets. */
export const GET = route({ auth: false }, async ({ container }) => json(toPublicConfig(container.config)));
