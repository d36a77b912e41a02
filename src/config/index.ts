/** hoard.yaml: schema, loading with file:line errors, secrets, precedence and schedules. */
// the schema (zod), the YAML parser and renderConfig are not re-exported here, so that a command
// without hoard.yaml never loads them: import parse.js, schema.js or write.js directly
export type {
  HoardConfig,
  SourceConfig,
  JobConfig,
  RepositoryConfig,
  EnvironmentConfig,
  RestoreTargetConfig,
} from './schema.js';
export {
  CONFIG_NAMES,
  assertTrustedFile,
  findConfigFile,
  loadConfig,
  type LoadedConfig,
  type ConfigProblem,
  type ConfigPath,
} from './load.js';
export { resolveSecret, isReference, referencedVariables, type SecretScope } from './secrets.js';
export { parseDotenv, readDotenv } from './dotenv.js';
export {
  resolveSettings,
  retentionRuleDays,
  entryOf,
  firstOf,
  defaultRepositoryName,
  absoluteLocal,
  environmentPolicy,
  ENVIRONMENT_DEFAULTS,
  type Settings,
  type SettingsInput,
  type Resolved,
  type Origin,
  type RepositorySetting,
  type EnvironmentPolicy,
} from './settings.js';
export {
  parseSchedule,
  parseDuration,
  nextDue,
  nextCron,
  instantOf,
  scheduleOf,
  machineZone,
  type Schedule,
} from './schedule.js';
export type { NewConfig } from './write.js';
export { parseSize } from './size.js';
