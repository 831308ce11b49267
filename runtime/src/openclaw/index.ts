export { buildChildEnv, type ChildEnvOptions } from "./child-env";
export {
  buildOpenClawConfig,
  DEFAULT_PLUGIN_ALLOW,
  type OpenClawConfigOptions,
  writeOpenClawConfig,
} from "./config";
export { classifyOpenClawError } from "./errors";
export {
  buildWorkerBundle,
  OpenClawEngine,
  type OpenClawEngineOptions,
  primeCompileCache,
  WARMUP_PROMPT,
  warmUpSessionKey,
} from "./openclaw-engine";
export { checkpointSqliteFiles, listSqliteFiles, snapshotSqlite } from "./sqlite";
