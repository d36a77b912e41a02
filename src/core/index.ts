/**
 * hoard's public library API (core). Code outside core imports core only through this file.
 * The higher-level `openHoard` API (config, jobs, databases) is built in src/app on top of it.
 */
export { HoardError, failureKind, isHoardError, throwIfAborted, type ErrorKind } from './errors.js';
export { writeAll } from './write-all.js';
export { redact, redactDeep, urlOrigin } from './redact.js';
export type { Clock } from './clock.js';
export { fixedClock } from './clock.js';
export type { HoardEvent, Reporter } from './events.js';
export { silent } from './events.js';
export {
  FILE_TYPES,
  NAME_RE,
  layoutDir,
  layoutPath,
  type Backend,
  type FileType,
  type Handle,
  type FileInfo,
  type LoadOptions,
} from './storage/backend.js';
export { createMemoryBackend } from './storage/memory.js';
export { Repository, type RepositoryOptions, type WriteStats } from './repository/repository.js';
export {
  initRepository,
  openRepository,
  addKey,
  removeKey,
  listKeys,
  type Identity,
  type KeyInfo,
} from './repository/open.js';
export { KeyCache } from './repository/key-cache.js';
export {
  acquireLock,
  waitForExclusive,
  removeLocks,
  listLocks,
  isStale,
  type LockOwner,
  type HeldLock,
} from './repository/locks.js';
export {
  listSnapshots,
  findSnapshot,
  filterSnapshots,
  saveSnapshot,
  removeSnapshot,
  amendSnapshot,
  type SnapshotEntry,
} from './repository/snapshots.js';
export {
  backupFiles,
  backupStream,
  backupStreams,
  type LazyStreamInput,
  type StreamInput,
  type StreamsOutcome,
  type BackupOptions,
  type BackupSummary,
  type SnapshotInfo,
} from './backup/backup.js';
export { restoreTree, restoreFailureKind, type RestoreOptions, type RestoreSummary } from './restore/restore.js';
export { walkTree, findNode, fileContent } from './restore/walk.js';
export { checkRepository, type CheckOptions, type CheckSummary } from './check/check.js';
export type { Snapshot } from './format/snapshot.js';
export { formatGoTime, goTimeFromMs } from './format/time.js';
export { readAhead } from './sources/read-ahead.js';
export type { TreeNode } from './format/tree.js';
export type { CompressionMode } from './format/compression.js';
export { reachableBlobs, exclusiveBytes } from './prune/usage.js';
export { planPrune, executePrune, type PrunePlan, type PruneSummary, type PruneOptions } from './prune/prune.js';
export { createFaultyBackend, type FaultyBackend } from './storage/faulty.js';
export {
  applyPolicy,
  checkPolicy,
  type RetentionItem,
  type RetentionPolicy,
  type RetentionDecision,
  type GfsRules,
  type GroupKey,
  type Span,
  spanMs,
} from './retention/policy.js';
export {
  saveVerification,
  loadVerifications,
  recordsOf,
  standingVerification,
  type StandingVerification,
  type VerificationRecord,
  type VerificationCheck,
  type VerifyLevel,
} from './verify/records.js';
export { verifySnapshotData, storedPackSizes, type VerifyOptions, type SnapshotCheck } from './verify/verify.js';
export { copySnapshots, alreadyCopied, type CopyResult, type CopyProgress } from './copy/copy.js';
export { limitMallocArenas } from './native.js';
