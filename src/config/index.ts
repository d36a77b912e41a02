/** hoard.yaml: schema, loading with file:line errors, secrets, precedence and schedules. */
export { CONFIG_VERSION, configSchema, type HoardConfig, type SourceConfig, type JobConfig, type RepositoryConfig, type EnvironmentConfig } from './schema.js';
export { CONFIG_NAMES, findConfigFile, loadConfig, parseConfig, type LoadedConfig, type ConfigProblem, type ConfigPath } from './load.js';
export { resolveSecret, isReference, type SecretScope } from './secrets.js';
export { parseDotenv, readDotenv } from './dotenv.js';
export {
  resolveSettings, retentionRuleDays, firstOf, defaultRepositoryName, absoluteLocal, environmentPolicy, ENVIRONMENT_DEFAULTS,
  type Settings, type SettingsInput, type Resolved, type Origin, type RepositorySetting, type EnvironmentPolicy,
} from './settings.js';
export { parseSchedule, nextRun, parseDuration, type Schedule } from './schedule.js';
export { renderConfig, type NewConfig } from './write.js';
