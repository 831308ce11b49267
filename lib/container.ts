import { type Adapters, createAdapters } from "./adapters";
import { getConfig } from "./env";

/**
 * The web app's composition root: the adapters for this process's configuration, built on
 * first use. Route handlers receive it through `route()` (lib/http/route.ts), which lets a
 * test hand a route its own container instead.
 */
export type Container = Adapters;

let cached: Container | undefined;

export function getContainer(): Container {
  cached ??= createAdapters(getConfig());
  return cached;
}
