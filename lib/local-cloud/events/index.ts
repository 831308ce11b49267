export { type AuthResult, createAuthenticator } from "./auth";
export {
  defaultNamespaces,
  type EventsIdentity,
  type NamespaceConfig,
  type NamespacesConfig,
} from "./namespaces";
export { type AuthMode, EventsError, REALTIME_SUBPROTOCOL } from "./protocol";
export { type EventsServer, type EventsServerOptions, startEventsServer } from "./server";
