/** Listing, finding, saving and removing snapshots (restic-format.md §9). */
import { HoardError, isHoardError } from '../errors.js';
import { type Snapshot, decodeSnapshot, encodeSnapshot } from '../format/snapshot.js';
import { goTimeToMs, parseGoTime } from '../format/time.js';
import type { Repository } from './repository.js';

export interface SnapshotEntry {
  id: string;
  snapshot: Snapshot;
  /** Snapshot time in epoch milliseconds (for sorting). */
  timeMs: number;
}

export interface SnapshotList {
  snapshots: SnapshotEntry[];
  /** Snapshot files that could not be read, with the reason. */
  damaged: { id: string; error: string }[];
}

/** Loads every snapshot, oldest first. Damaged files are reported, not thrown. */
export async function listSnapshots(repo: Repository, signal?: AbortSignal): Promise<SnapshotList> {
  const out: SnapshotList = { snapshots: [], damaged: [] };
  for await (const f of repo.backend.list('snapshot', { signal })) {
    try {
      const snapshot = decodeSnapshot(await repo.loadUnpacked('snapshot', f.name, signal));
      let timeMs = 0;
      try {
        timeMs = goTimeToMs(parseGoTime(snapshot.time));
      } catch {
        /* keep 0: sorts first */
      }
      out.snapshots.push({ id: f.name, snapshot, timeMs });
    } catch (e) {
      if (isHoardError(e, 'not-found')) continue;
      if (!isHoardError(e, 'corrupt')) throw e;
      out.damaged.push({ id: f.name, error: e.message });
    }
  }
  out.snapshots.sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : 1));
  return out;
}

/**
 * Resolves a reference: "latest" (optionally filtered by host/paths/tags), a full id, a unique
 * hex prefix, or a label (the newest snapshot with that hoard label). Kind "not-found" when nothing matches, "usage" when a prefix is ambiguous.
 */
export function findSnapshot(list: SnapshotEntry[], ref: string, filter: SnapshotFilter = {}): SnapshotEntry {
  if (ref === 'latest') {
    const m = filterSnapshots(list, filter);
    if (m.length === 0)
      throw new HoardError('not-found', 'no snapshot found', { hint: 'run `hoard snapshots` to see what exists' });
    return m[m.length - 1];
  }
  const m = /^[0-9a-f]{1,64}$/.test(ref) ? list.filter((s) => s.id.startsWith(ref)) : [];
  if (m.length === 0) {
    const labelled = filterSnapshots(list, filter).filter(
      (s) => (s.snapshot.hoard as { label?: unknown } | undefined)?.label === ref,
    );
    if (labelled.length) return labelled[labelled.length - 1];
    throw new HoardError('not-found', `no snapshot with id or label ${JSON.stringify(ref)}`, {
      hint: 'run `hoard snapshots` to see what exists',
    });
  }
  if (m.length > 1)
    throw new HoardError('usage', `snapshot prefix ${ref} is ambiguous (${m.length} snapshots match)`, {
      hint: 'give more characters of the id',
    });
  return m[0];
}

export interface SnapshotFilter {
  host?: string;
  paths?: string[];
  tags?: string[];
}

/** Snapshots matching host, all given paths and all given tags (oldest first). */
export function filterSnapshots(list: SnapshotEntry[], f: SnapshotFilter): SnapshotEntry[] {
  return list.filter(
    ({ snapshot: s }) =>
      (!f.host || s.hostname === f.host) &&
      (!f.paths?.length || f.paths.every((p) => s.paths?.includes(p))) &&
      (!f.tags?.length || f.tags.every((t) => s.tags?.includes(t))),
  );
}

/** Writes a snapshot file; returns its id. Callers must have flushed the data it references. */
export async function saveSnapshot(repo: Repository, s: Snapshot): Promise<string> {
  return repo.saveUnpacked('snapshot', encodeSnapshot(s));
}

/** Removes a snapshot file (idempotent). Needs an exclusive lock held by the caller. */
export async function removeSnapshot(repo: Repository, id: string): Promise<void> {
  await repo.backend.remove({ type: 'snapshot', name: id });
}

/**
 * Rewrites a snapshot with `patch` merged into its hoard metadata, as restic's `tag` does: the new
 * snapshot records the first `original` id, then the old file is removed. Returns the new id.
 * Needs an exclusive lock held by the caller.
 */
export async function amendSnapshot(
  repo: Repository,
  entry: SnapshotEntry,
  patch: Record<string, unknown>,
): Promise<string> {
  const s: Snapshot = {
    ...entry.snapshot,
    original: entry.snapshot.original ?? entry.id,
    hoard: { ...entry.snapshot.hoard, ...patch },
  };
  const id = await saveSnapshot(repo, s);
  if (id !== entry.id) await removeSnapshot(repo, entry.id);
  return id;
}
