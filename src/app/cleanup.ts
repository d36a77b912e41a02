/**
 * Which snapshots a cleanup removes, with every reason: the project's snapshots mapped onto core's
 * retention engine (core/retention/policy.ts: pins, the safety floor, manual and unverified
 * pre-migration snapshots, restic's GFS rules, expiry, age). Pure: a function of the snapshots, the
 * request and `now`. A plan whose rules would remove every backup of a source is refused unless
 * `allowEmpty` (the floor would still keep the newest, but the rules are likely wrong).
 */
import {
  type GfsRules,
  type GroupKey,
  type Repository,
  type RetentionItem,
  type SnapshotEntry,
  type VerificationRecord,
  HoardError,
  applyPolicy,
  exclusiveBytes,
} from '../core/index.js';
import { walDecisions } from './pitr/retention.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';

export interface CleanupRequest {
  /** Remove snapshots past their expiry (default: on unless GFS rules or an age are given). */
  expired?: boolean;
  olderThanMs?: number;
  /** restic's keep-* rules. */
  gfs?: GfsRules;
  groupBy?: GroupKey[];
  /** For the GFS buckets (default: the machine's zone). */
  timeZone?: string;
  /** Only snapshots of this source / environment. */
  source?: string;
  environment?: string;
  allowEmpty?: boolean;
  /** Days a pre-migration backup is kept once confirmed (hoard.yaml's retention.pre-migration; default 7). */
  preMigrationDays?: number;
}

export interface CleanupDecision {
  record: BackupRecord;
  remove: boolean;
  /** The reasons, joined. */
  reason: string;
  reasons: string[];
}

export interface CleanupPlan {
  decisions: CleanupDecision[];
  remove: BackupRecord[];
  /** The rules that were applied, for the output. */
  applied: {
    expired: boolean;
    older_than_ms: number | null;
    gfs: GfsRules | null;
    group_by: GroupKey[] | null;
    time_zone: string;
  };
}

/**
 * A backup's expiry. A pre-change backup (a ticket, or kind pre-migration) counts its retention
 * from its confirmation: its retention days (pre-migration: N days, unless given others) after
 * `hoard confirm` recorded who verified the change; until then it awaits and is kept.
 */
function expiryOf(r: BackupRecord, preMigrationDays: number): number {
  if (r.confirmation && (r.kind === 'pre-migration' || r.ticket)) {
    const days = r.retention_days ?? preMigrationDays;
    return days === null ? NaN : Date.parse(r.confirmation.at) + days * 86_400_000;
  }
  if (r.expires_at) return Date.parse(r.expires_at);
  return NaN;
}

function item(r: BackupRecord, preMigrationDays: number): RetentionItem {
  const exp = expiryOf(r, preMigrationDays);
  return {
    id: r.id,
    timeMs: r.created_ms,
    hostname: r.hostname,
    paths: r.paths,
    tags: r.tags,
    // a confirmed ticketed backup is let go by its expiry, even when it was taken as a manual one
    kind: r.ticket && r.confirmation && r.kind === 'manual' ? 'pre-change' : r.kind,
    source: r.source,
    pinned: r.pinned,
    expiresMs: Number.isNaN(exp) ? null : exp,
    awaiting: r.awaiting_confirmation
      ? `awaiting confirmation${r.ticket ? ` of ${r.ticket}` : ''} (hoard confirm ${r.short_id} --by NAME)`
      : undefined,
  };
}

/** Plans a cleanup; changes nothing. Kind "usage" for bad rules or a plan that empties a source. */
export function planCleanup(
  list: SnapshotEntry[],
  req: CleanupRequest,
  nowMs: number,
  verifications?: VerificationRecord[],
): CleanupPlan {
  const hasRules = !!req.gfs || req.olderThanMs !== undefined;
  const expired = req.expired ?? !hasRules;
  const timeZone = req.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  const all = list
    .map((e) => toRecord(e, verifications))
    .filter((r) => (!req.source || r.source === req.source) && (!req.environment || r.environment === req.environment));
  // archived WAL has no rules of its own: it goes with the base backups that need it (pitr/retention.ts)
  const records = all.filter((r) => r.kind !== 'wal');
  const out = applyPolicy(
    records.map((r) => item(r, req.preMigrationDays ?? 7)),
    { gfs: req.gfs, expired, olderThanMs: req.olderThanMs, groupBy: req.groupBy, timeZone },
    nowMs,
  );
  const byGroup = new Map<string, typeof out>();
  for (const d of out) byGroup.set(d.group, [...(byGroup.get(d.group) ?? []), d]);
  if (!req.allowEmpty) {
    for (const [g, ds] of byGroup) {
      if (ds.length > 1 && ds.every((d) => !d.keep || d.floorOnly)) {
        throw new HoardError(
          'usage',
          `the rules would remove every backup of ${g} (only the safety floor would keep the newest); nothing was removed`,
          { hint: 'check the rules; pass --allow-empty if that is what you want' },
        );
      }
    }
  }
  const decisions: CleanupDecision[] = out.map((d, i) => ({
    record: records[i],
    remove: !d.keep,
    reason: d.reasons.join('; '),
    reasons: d.reasons,
  }));
  const wal = walDecisions(list, new Set(decisions.filter((d) => d.remove).map((d) => d.record.id)));
  for (const r of all.filter((x) => x.kind === 'wal')) {
    const d = wal.get(r.id) ?? { keep: true, reason: 'WAL of no known source: kept' };
    decisions.push({ record: r, remove: !d.keep, reason: d.reason, reasons: [d.reason] });
  }
  return {
    decisions,
    remove: decisions.filter((d) => d.remove).map((d) => d.record),
    applied: {
      expired,
      older_than_ms: req.olderThanMs ?? null,
      gfs: req.gfs ?? null,
      group_by: req.groupBy ?? null,
      time_zone: timeZone,
    },
  };
}

/**
 * Stored bytes that a prune frees once the snapshots with `removeIds` are gone: the data only they
 * use (shared data stays). Needs the repository's index loaded; reads every snapshot's trees.
 */
export async function sizeFreed(
  repo: Repository,
  all: SnapshotEntry[],
  removeIds: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  const removed = all.filter((e) => removeIds.has(e.id)).map((e) => e.snapshot.tree);
  const kept = all.filter((e) => !removeIds.has(e.id)).map((e) => e.snapshot.tree);
  return exclusiveBytes(repo, removed, kept, signal);
}
