import type { Container } from "../container";
import type { EnsureRuntimeOptions } from "./ensure-runtime";

/**
 * What the web-facing services need: the container's ports (same names, so the
 * composition root passes its container as it is) plus the bound `ensureRuntime`.
 * Each service takes only the ports it uses (`Pick<ServicePorts, ...>`), so a test
 * builds exactly those against the real local stand-ins.
 */
export interface ServicePorts
  extends Pick<Container, "chatStore" | "settingsStore" | "taskStates" | "queue" | "publisher" | "secrets"> {
  /**
   * Starts the user's runtime if it is not running (at most once) and wakes it: bound to
   * `ensureRuntime(ports, userId)` of lib/services/ensure-runtime.ts.
   */
  ensureRuntime: (userId: string, opts?: EnsureRuntimeOptions) => Promise<unknown>;
}
