/**
 * Copying snapshots between repositories with restic's copy semantics: only the blobs the
 * destination lacks move (decrypted and verified from the source, encrypted with the destination's
 * key), a tree the destination already has is not walked again, and the snapshot is written last,
 * with `original` naming the source snapshot, only after its data and index are durable. A copy
 * that fails leaves no snapshot at the destination (its packs are reused by the next attempt).
 */
import { decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { type SnapshotEntry, saveSnapshot } from '../repository/snapshots.js';
import { throwIfAborted } from '../errors.js';

export interface CopyProgress {
  type: 'copy.progress';
  snapshot: string;
  blobs: number;
  bytes: number;
}

export interface CopyResult {
  /** Source snapshot id → destination snapshot id. */
  copied: { source: string; destination: string }[];
  /** Source snapshots the destination already had. */
  skipped: string[];
  blobs: number;
  bytes: number;
}

/** The source snapshots `dst` already holds: same original id, or same tree, time and host. */
export function alreadyCopied(src: SnapshotEntry[], dst: SnapshotEntry[]): Set<string> {
  const originals = new Set(dst.map((d) => d.snapshot.original ?? d.id));
  const shapes = new Set(dst.map((d) => `${d.snapshot.tree} ${d.snapshot.time} ${d.snapshot.hostname ?? ''}`));
  return new Set(
    src
      .filter(
        (s) =>
          originals.has(s.snapshot.original ?? s.id) ||
          shapes.has(`${s.snapshot.tree} ${s.snapshot.time} ${s.snapshot.hostname ?? ''}`),
      )
      .map((s) => s.id),
  );
}

/** Copies `snapshots` of `src` that `dst` lacks (`dstSnapshots`: what it holds now). Both indexes must be loaded. */
export async function copySnapshots(
  src: Repository,
  dst: Repository,
  snapshots: SnapshotEntry[],
  dstSnapshots: SnapshotEntry[],
  o: { signal?: AbortSignal; report?: (e: CopyProgress) => void } = {},
): Promise<CopyResult> {
  const have = alreadyCopied(snapshots, dstSnapshots);
  const result: CopyResult = { copied: [], skipped: [...have], blobs: 0, bytes: 0 };
  const visited = new Set<string>();

  async function copyTree(id: string, snapshot: string): Promise<void> {
    if (visited.has(id) || dst.hasBlob('tree', id)) return;
    visited.add(id);
    throwIfAborted(o.signal);
    const raw = await src.loadBlob('tree', id, o.signal);
    for (const n of decodeTree(raw)) {
      if (n.subtree) await copyTree(n.subtree, snapshot);
      for (const b of n.content ?? []) {
        if (dst.hasBlob('data', b)) continue;
        const data = await src.loadBlob('data', b, o.signal);
        if (await dst.saveBlob('data', b, data)) {
          result.blobs++;
          result.bytes += data.length;
          o.report?.({ type: 'copy.progress', snapshot, blobs: result.blobs, bytes: result.bytes });
        }
      }
    }
    if (await dst.saveBlob('tree', id, raw)) {
      result.blobs++;
      result.bytes += raw.length;
    }
  }

  for (const s of snapshots) {
    if (have.has(s.id)) continue;
    await copyTree(s.snapshot.tree, s.id);
    await dst.flush(); // data and index durable before the snapshot that points at them
    const id = await saveSnapshot(dst, { ...s.snapshot, original: s.snapshot.original ?? s.id });
    result.copied.push({ source: s.id, destination: id });
  }
  return result;
}
