/**
 * The `hoard` package: `openHoard()` for programs that manage a project's backups (hoard.yaml,
 * sources, environments), and the repository core for lower-level work. See the README's
 * "Library" section.
 */
export {
  openHoard,
  type Hoard,
  type HoardEvents,
  type OpenHoardOptions,
  type BackupRequest,
  type BackupOutcome,
  type RestoreRequest,
  type RestoreOutcome,
  type CleanupOptions,
} from './app/hoard.js';
export type { BackupRecord } from './app/snapshot-view.js';
export type { BackupQuery, SnapshotChoice } from './app/select.js';
export type { StatusReport, SourceStatus } from './app/status.js';
export type { CleanupPlan, CleanupDecision } from './app/cleanup.js';
export type { VerifyRequest, VerifyResult } from './app/verify.js';
export { loadConfig, type HoardConfig, type LoadedConfig, type ConfigProblem } from './config/index.js';
export { parseConfig } from './config/parse.js';
export * from './core/index.js';
