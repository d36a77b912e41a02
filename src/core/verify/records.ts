/**
 * Verification records: what was verified, when, how and with what result, stored in the
 * repository itself (so they survive the machine that made them) as encrypted, compressed JSON
 * files under hoard/verifications/, named by their hash like restic's unpacked files. restic does
 * not look in that folder; `restic check --read-data` passes on a repository holding them.
 */
import { isHoardError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/snapshots.js';

export type VerifyLevel = 'quick' | 'read-back' | 'drill';

export interface VerificationCheck {
  name: string;
  ok: boolean;
  message: string;
}

export interface VerificationRecord {
  /** The snapshot's id when it was verified, and its first id (ids change when metadata is rewritten). */
  snapshot: string;
  original: string;
  level: VerifyLevel;
  ok: boolean;
  /** RFC 3339. */
  at: string;
  duration_ms: number;
  /** read-back of a share of the data (0–1), when not all of it. */
  subset?: number;
  checks: VerificationCheck[];
  /** The first failure, or a one-line summary. */
  message: string;
  hostname: string;
  program_version: string;
  /** The snapshot's source (kept so a report can name it after the snapshot is gone). */
  source?: string;
  /** What started it: manual, schedule, after-backup, api, library. */
  trigger?: string;
  /** drill: how long the restore into the scratch target took, and how many bytes it restored. */
  restore_ms?: number;
  restore_bytes?: number;
}

/** Stores a record; returns its file id. */
export async function saveVerification(repo: Repository, r: VerificationRecord): Promise<string> {
  return repo.saveUnpacked('verification', JSON.stringify(r));
}

/** How far ahead of this machine's clock a record's time may be (another host's clock) before it is not believed. */
const SKEW_MS = 60 * 60_000;

/**
 * Every readable record, oldest first (unreadable ones are skipped: a record is advice, not data;
 * so is one dated more than an hour after `nowMs`, which would otherwise outrank every later one).
 */
export async function loadVerifications(
  repo: Repository,
  signal: AbortSignal | undefined,
  nowMs: number,
): Promise<VerificationRecord[]> {
  const out: VerificationRecord[] = [];
  for await (const f of repo.backend.list('verification', { signal })) {
    try {
      const r = decodeVerification(await repo.loadUnpacked('verification', f.name, signal), nowMs + SKEW_MS);
      if (r) out.push(r);
    } catch (e) {
      if (!isHoardError(e)) throw e;
    }
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * A record from its JSON, or undefined when it is not one (a record is advice: one that does not
 * parse is skipped, and so is one whose time is not a time or is after `latestMs`). Fields of the
 * wrong type are dropped to their defaults; a record passes only when it has checks and every
 * one of them passed (a forged `ok: true` with none, or with a failed one, is a failure).
 */
export function decodeVerification(json: Buffer, latestMs = Number.POSITIVE_INFINITY): VerificationRecord | undefined {
  let r: Partial<Record<keyof VerificationRecord, unknown>>;
  try {
    r = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null || typeof r.snapshot !== 'string' || typeof r.at !== 'string')
    return undefined;
  const atMs = Date.parse(r.at);
  if (!/^\d{4}-\d\d-\d\dT/.test(r.at) || !Number.isFinite(atMs) || atMs > latestMs) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const checks = Array.isArray(r.checks)
    ? r.checks
        .filter(
          (c): c is VerificationCheck =>
            typeof c === 'object' && c !== null && typeof (c as VerificationCheck).name === 'string',
        )
        .map((c) => ({ name: c.name, ok: c.ok === true, message: str(c.message) }))
    : [];
  return {
    snapshot: r.snapshot,
    original: str(r.original),
    at: new Date(atMs).toISOString(),
    ok: r.ok === true && checks.length > 0 && checks.every((c) => c.ok),
    message: str(r.message),
    level: r.level === 'quick' || r.level === 'drill' ? r.level : 'read-back',
    duration_ms: isCount(r.duration_ms) ? r.duration_ms : 0,
    ...(typeof r.subset === 'number' && r.subset > 0 && r.subset <= 1 ? { subset: r.subset } : {}),
    checks,
    hostname: str(r.hostname),
    program_version: str(r.program_version),
    ...(typeof r.source === 'string' ? { source: r.source } : {}),
    ...(typeof r.trigger === 'string' ? { trigger: r.trigger } : {}),
    ...(isCount(r.restore_ms) ? { restore_ms: r.restore_ms } : {}),
    ...(isCount(r.restore_bytes) ? { restore_bytes: r.restore_bytes } : {}),
  };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A snapshot's records (matched by id or by its first id, which survives `pin`), oldest first. */
export function recordsOf(records: VerificationRecord[], e: SnapshotEntry): VerificationRecord[] {
  const { bySnapshot, byOriginal } = indexOf(records);
  const first = e.snapshot.original ?? e.id;
  const at = new Set([
    ...(bySnapshot.get(e.id) ?? []),
    ...(byOriginal.get(first) ?? []),
    ...(bySnapshot.get(first) ?? []),
  ]);
  return [...at].sort((a, b) => a - b).map((k) => records[k]); // in the list's order (oldest first)
}

interface RecordIndex {
  bySnapshot: Map<string, number[]>;
  byOriginal: Map<string, number[]>;
}

/**
 * Positions of a list's records by snapshot id and by first id, built once per list: list and
 * status ask for every snapshot's records, which a scan per snapshot made quadratic. A list is not
 * changed after it is loaded.
 */
const indexes = new WeakMap<VerificationRecord[], RecordIndex>();

function indexOf(records: VerificationRecord[]): RecordIndex {
  let ix = indexes.get(records);
  if (!ix) {
    ix = { bySnapshot: new Map(), byOriginal: new Map() };
    records.forEach((r, k) => {
      ix!.bySnapshot.set(r.snapshot, [...(ix!.bySnapshot.get(r.snapshot) ?? []), k]);
      ix!.byOriginal.set(r.original, [...(ix!.byOriginal.get(r.original) ?? []), k]);
    });
    indexes.set(records, ix);
  }
  return ix;
}

/** What each level proves, in order: a drill restores (and so reads) everything a read-back reads. */
const RANK: Record<VerifyLevel, number> = { quick: 0, 'read-back': 1, drill: 2 };

/** What a pass proves: a read-back of a random share of the packs proves no more than a quick check (it may miss the damage). */
const clearingRank = (r: VerificationRecord) => (r.level === 'read-back' && r.subset !== undefined ? 0 : RANK[r.level]);

export interface StandingVerification {
  /** The newest record of each level. */
  levels: Partial<Record<VerifyLevel, VerificationRecord>>;
  /** Failures no newer verification of at least their level has passed since, oldest first. */
  failing: VerificationRecord[];
  /** What to show: the newest standing failure, else the newest record. */
  shown?: VerificationRecord;
}

/**
 * The standing verification of some records (one backup's, or all of a source's), oldest first:
 * a failure stands until a newer verification that proves at least as much passes (a passing drill
 * clears a failed read-back; a passing read-back or quick check never clears a failed drill; a
 * `--subset` read-back clears only a quick check's failure), on the same backup or a newer one
 * (`backupTime`: a pass on an older backup says nothing of a newer one), so a later, lesser check
 * never turns a failed backup back into a valid one.
 */
export function standingVerification(
  records: VerificationRecord[],
  backupTime: (r: VerificationRecord) => number = () => 0,
): StandingVerification {
  const levels: StandingVerification['levels'] = {};
  const failing = new Map<VerifyLevel, VerificationRecord>();
  for (const r of records) {
    levels[r.level] = r;
    if (!r.ok) {
      failing.set(r.level, r);
      continue;
    }
    for (const [l, f] of failing) if (RANK[l] <= clearingRank(r) && backupTime(f) <= backupTime(r)) failing.delete(l);
  }
  const standing = [...failing.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { levels, failing: standing, shown: standing[standing.length - 1] ?? records[records.length - 1] };
}
