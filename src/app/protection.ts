/** Which protected environments a delete or cleanup touches (they ask before acting there); restores: restore-target.ts. */
import { type Project, policyOf } from './project.js';
import type { BackupRecord } from './snapshot-view.js';

/** The protected environments among the records' environments, with how many records each. */
export function protectedAmong(p: Project, records: BackupRecord[]): { environment: string; count: number }[] {
  const envs = [
    ...new Set(records.map((r) => r.environment).filter((e): e is string => !!e && policyOf(p, e).protected)),
  ];
  return envs.map((environment) => ({
    environment,
    count: records.filter((r) => r.environment === environment).length,
  }));
}
