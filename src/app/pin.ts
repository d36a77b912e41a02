/** Pins: a pinned snapshot is never removed by policy. Mirrored as the restic tag `pinned` (`restic forget --keep-tag pinned` honours it). */
import { type Repository, type SnapshotEntry, removeSnapshot, saveSnapshot } from '../core/index.js';

/**
 * Rewrites the snapshot with `pinned` set or cleared, as `restic tag` does (the new snapshot
 * records the first id as `original`), and removes the old file. Returns the new id (the same
 * when nothing changes). Needs an exclusive lock held by the caller.
 */
export async function setPinned(repo: Repository, e: SnapshotEntry, pinned: boolean): Promise<string> {
  const s = e.snapshot;
  if ((s.hoard?.pinned === true) === pinned) return e.id;
  const tags = (s.tags ?? []).filter((t) => t !== 'pinned');
  const id = await saveSnapshot(repo, {
    ...s,
    original: s.original ?? e.id,
    tags: pinned ? [...tags, 'pinned'] : tags,
    hoard: { ...(s.hoard ?? {}), pinned },
  });
  if (id !== e.id) await removeSnapshot(repo, e.id);
  return id;
}
