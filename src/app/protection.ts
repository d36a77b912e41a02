/** Which protected environments an action touches (restore, delete, cleanup ask before acting in them). */
import type { SnapshotEntry } from '../core/index.js';
import { type Project, policyOf } from './project.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';

/** The environment a restore of `s` acts in: --environment / HOARD_ENVIRONMENT, else the snapshot's, else the project's. */
export function restoreEnvironment(p: Project, s: SnapshotEntry): string | undefined {
  const set = p.settings.environment;
  if (set && set.from !== 'file') return set.value;
  return toRecord(s).environment ?? set?.value;
}

/** The protected environment a restore of `s` acts in, if any. */
export function protectedRestoreEnvironment(p: Project, s: SnapshotEntry): string | undefined {
  const env = restoreEnvironment(p, s);
  return env && policyOf(p, env).protected ? env : undefined;
}

/** The protected environments among the records' environments, with how many records each. */
export function protectedAmong(p: Project, records: BackupRecord[]): { environment: string; count: number }[] {
  const envs = [...new Set(records.map((r) => r.environment).filter((e): e is string => !!e && policyOf(p, e).protected))];
  return envs.map((environment) => ({ environment, count: records.filter((r) => r.environment === environment).length }));
}
