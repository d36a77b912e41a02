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
}

/** Stores a record; returns its file id. */
export async function saveVerification(repo: Repository, r: VerificationRecord): Promise<string> {
  return repo.saveUnpacked('verification', JSON.stringify(r));
}

/** Every readable record (unreadable ones are skipped: a record is advice, not data). */
export async function loadVerifications(repo: Repository, signal?: AbortSignal): Promise<VerificationRecord[]> {
  const out: VerificationRecord[] = [];
  for await (const f of repo.backend.list('verification', { signal })) {
    try {
      const r = decodeVerification(await repo.loadUnpacked('verification', f.name, signal));
      if (r) out.push(r);
    } catch (e) {
      if (!isHoardError(e)) throw e;
    }
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * A record from its JSON, or undefined when it is not one (a record is advice: one that does not
 * parse is skipped). Fields of the wrong type are dropped to their defaults.
 */
export function decodeVerification(json: Buffer): VerificationRecord | undefined {
  let r: Partial<Record<keyof VerificationRecord, unknown>>;
  try {
    r = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null || typeof r.snapshot !== 'string' || typeof r.at !== 'string')
    return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    snapshot: r.snapshot,
    original: str(r.original),
    at: r.at,
    ok: r.ok === true,
    message: str(r.message),
    level: r.level === 'quick' || r.level === 'drill' ? r.level : 'read-back',
    duration_ms: typeof r.duration_ms === 'number' ? r.duration_ms : 0,
    ...(typeof r.subset === 'number' ? { subset: r.subset } : {}),
    checks: Array.isArray(r.checks)
      ? r.checks.filter(
          (c): c is VerificationCheck =>
            typeof c === 'object' && c !== null && typeof (c as VerificationCheck).name === 'string',
        )
      : [],
    hostname: str(r.hostname),
    program_version: str(r.program_version),
  };
}

/** The newest record of a snapshot (matched by id or by its first id), or undefined. */
export function latestVerification(records: VerificationRecord[], e: SnapshotEntry): VerificationRecord | undefined {
  const first = e.snapshot.original ?? e.id;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (r.snapshot === e.id || r.original === first || r.snapshot === first) return r;
  }
  return undefined;
}
