/**
 * Which snapshots a cleanup removes, with the reason for each decision. Pure: a function of the
 * snapshots, the request and `now`. Rules, in order: a pinned snapshot is kept; the newest
 * snapshot of each source is kept (a floor no rule goes under); a manual snapshot is removed only
 * when it was given an expiry; then --expired removes what is past its `expires_at` and
 * --older-than N removes what is more than N days old. The full retention engine (keep-daily,
 * GFS, per-kind rules) and prune build on this in the retention issue.
 */
import { type Repository, type SnapshotEntry, exclusiveBytes } from '../core/index.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';

export interface CleanupRequest {
  /** Remove snapshots past their expiry (the default when nothing else is asked). */
  expired?: boolean;
  olderThanDays?: number;
  /** Only snapshots of this source / environment. */
  source?: string;
  environment?: string;
}

export interface CleanupDecision {
  record: BackupRecord;
  remove: boolean;
  reason: string;
}

export interface CleanupPlan {
  decisions: CleanupDecision[];
  remove: BackupRecord[];
  /** The rules that were applied, for the output. */
  applied: { expired: boolean; older_than_days: number | null };
}

/** Plans a cleanup; changes nothing. */
export function planCleanup(list: SnapshotEntry[], req: CleanupRequest, nowMs: number): CleanupPlan {
  const expired = req.expired === true || req.olderThanDays === undefined;
  const records = list.map(toRecord).filter((r) => (!req.source || r.source === req.source) && (!req.environment || r.environment === req.environment));
  const newest = new Map<string, string>();
  for (const r of records) newest.set(r.source ?? `paths:${r.hostname}:${r.paths.join(',')}`, r.id); // oldest first: the last one wins
  const decisions = records.map((r): CleanupDecision => {
    const key = r.source ?? `paths:${r.hostname}:${r.paths.join(',')}`;
    if (r.pinned) return { record: r, remove: false, reason: 'pinned' };
    if (newest.get(key) === r.id) return { record: r, remove: false, reason: 'newest backup of its source (always kept)' };
    const exp = r.expires_at ? Date.parse(r.expires_at) : NaN;
    if (expired && exp <= nowMs) return { record: r, remove: true, reason: `expired ${r.expires_at!.slice(0, 10)} (retention ${r.retention_days ?? '?'} d)` };
    if (r.kind === 'manual' && !r.expires_at) return { record: r, remove: false, reason: 'manual backups without an expiry are kept until deleted' };
    if (req.olderThanDays !== undefined && r.created_ms < nowMs - req.olderThanDays * 86_400_000) {
      return { record: r, remove: true, reason: `older than ${req.olderThanDays} d` };
    }
    return { record: r, remove: false, reason: r.expires_at ? `expires ${r.expires_at.slice(0, 10)}` : 'no expiry' };
  });
  return { decisions, remove: decisions.filter((d) => d.remove).map((d) => d.record), applied: { expired, older_than_days: req.olderThanDays ?? null } };
}

/**
 * Stored bytes that a prune frees once the snapshots with `removeIds` are gone: the data only they
 * use (shared data stays). Needs the repository's index loaded; reads every snapshot's trees.
 */
export async function sizeFreed(repo: Repository, all: SnapshotEntry[], removeIds: Set<string>, signal?: AbortSignal): Promise<number> {
  const removed = all.filter((e) => removeIds.has(e.id)).map((e) => e.snapshot.tree);
  const kept = all.filter((e) => !removeIds.has(e.id)).map((e) => e.snapshot.tree);
  return exclusiveBytes(repo, removed, kept, signal);
}
