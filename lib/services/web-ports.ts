import { type Container, getContainer } from "../container";
import type { ServicePorts } from "./deps";
import { ensureRuntime } from "./ensure-runtime";

/**
 * The ports the route handlers hand to the services: the container's adapters, read
 * lazily (a route that only lists conversations never builds a publisher), and
 * `ensureRuntime` bound to the same container.
 */
export function webPorts(container: Container = getContainer()): ServicePorts {
  return {
    get chatStore() {
      return container.chatStore;
    },
    get settingsStore() {
      return container.settingsStore;
    },
    get taskStates() {
      return container.taskStates;
    },
    get queue() {
      return container.queue;
    },
    get publisher() {
      return container.publisher;
    },
    get secrets() {
      return container.secrets;
    },
    ensureRuntime: (userId, opts) => ensureRuntime(container, userId, opts),
  };
}
