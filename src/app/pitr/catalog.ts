/**
 * What a repository holds for one point-in-time source: its archived WAL files (from snapshots of
 * kind `wal`, one or more files each) and its base backups (kind `base`), read from the snapshots'
 * hoard metadata. Pure: a snapshot list in, a catalog out. Metadata is untrusted: a file whose name
 * is no WAL name, or whose size or hash is malformed, is left out (and so counts as missing); one
 * name archived twice with different bytes is kept as a conflict, never resolved silently.
 */
import type { SnapshotEntry } from '../../core/index.js';
import { type SegmentId, parseLsn, parseSegment, walFileKind } from '../../databases/postgres/wal.js';

/** One archived WAL file. */
export interface ArchivedFile {
  name: string;
  size: number;
  sha256: string;
  /** When PostgreSQL finished the file (its mtime at archiving), epoch ms. */
  closedMs: number;
  snapshotId: string;
}

/** One base backup. */
export interface BaseBackup {
  snapshotId: string;
  timeMs: number;
  timeline: number;
  startLsn: bigint;
  endLsn: bigint;
  /** The server's clock when the backup had ended: the earliest time a restore from it can reach. */
  consistentMs: number;
  segSize: number;
  serverVersion: string;
  /** The stored tar's name in the snapshot. */
  file: string;
}

export interface WalCatalog {
  files: Map<string, ArchivedFile>;
  /** Names stored twice with different bytes. */
  conflicts: string[];
  bases: BaseBackup[];
  walSnapshots: SnapshotEntry[];
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The WAL files and base backups of `source` among `list` (oldest first). */
export function walCatalog(list: SnapshotEntry[], source: string): WalCatalog {
  const files = new Map<string, ArchivedFile>();
  const conflicts: string[] = [];
  const bases: BaseBackup[] = [];
  const walSnapshots: SnapshotEntry[] = [];
  for (const e of list) {
    const h = e.snapshot.hoard;
    if (!h || (h.source as { name?: unknown } | undefined)?.name !== source) continue;
    if (h.kind === 'wal') {
      walSnapshots.push(e);
      for (const f of walFiles(h.wal)) {
        const had = files.get(f.name);
        if (had && had.sha256 !== f.sha256) conflicts.push(f.name);
        else if (!had) files.set(f.name, { ...f, snapshotId: e.id });
      }
    } else if (h.kind === 'base') {
      const b = baseOf(e);
      if (b) bases.push(b);
    }
  }
  bases.sort((a, b) => a.consistentMs - b.consistentMs);
  return { files, conflicts, bases, walSnapshots };
}

/** The well-formed entries of a WAL snapshot's `wal.files` (untrusted metadata). */
export function walFiles(w: unknown): Omit<ArchivedFile, 'snapshotId'>[] {
  const list = (w as { files?: unknown } | undefined)?.files;
  if (!Array.isArray(list)) return [];
  return list.flatMap((f) => {
    const { name, size, sha256, closed_at } = (f ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !walFileKind(name)) return [];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return [];
    if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return [];
    const closedMs = typeof closed_at === 'string' ? Date.parse(closed_at) : Number.NaN;
    return [{ name, size, sha256, closedMs: Number.isNaN(closedMs) ? 0 : closedMs }];
  });
}

function baseOf(e: SnapshotEntry): BaseBackup | undefined {
  const b = (e.snapshot.hoard?.base ?? {}) as Record<string, unknown>;
  const startLsn = typeof b.start_lsn === 'string' ? parseLsn(b.start_lsn) : undefined;
  const endLsn = typeof b.end_lsn === 'string' ? parseLsn(b.end_lsn) : undefined;
  const consistentMs = typeof b.consistent_at === 'string' ? Date.parse(b.consistent_at) : Number.NaN;
  const segSize = b.wal_segment_size;
  const ok =
    startLsn !== undefined &&
    endLsn !== undefined &&
    !Number.isNaN(consistentMs) &&
    Number.isSafeInteger(b.timeline) &&
    Number.isSafeInteger(segSize) &&
    (segSize as number) >= 1 << 20 &&
    (segSize as number) <= 1 << 30 &&
    ((segSize as number) & ((segSize as number) - 1)) === 0 &&
    typeof b.file === 'string' &&
    /^[A-Za-z0-9_.-]+$/.test(b.file);
  if (!ok) return undefined;
  return {
    snapshotId: e.id,
    timeMs: e.timeMs,
    timeline: b.timeline as number,
    startLsn: startLsn!,
    endLsn: endLsn!,
    consistentMs,
    segSize: segSize as number,
    serverVersion: typeof b.server_version === 'string' ? b.server_version : '',
    file: b.file as string,
  };
}

/** The segments of the catalog, per timeline, by number. */
export function segmentsByTimeline(c: WalCatalog, segSize: number): Map<number, Map<bigint, ArchivedFile>> {
  const out = new Map<number, Map<bigint, ArchivedFile>>();
  for (const f of c.files.values()) {
    if (walFileKind(f.name) !== 'segment') continue;
    const id = parseSegment(f.name, segSize);
    if (!id) continue; // a name no segment of this size has (untrusted metadata): not a segment of this catalog
    if (!out.has(id.timeline)) out.set(id.timeline, new Map());
    out.get(id.timeline)!.set(id.segno, f);
  }
  return out;
}

/** The first segment missing on `timeline` from `from` through `to` (inclusive), or undefined. */
export function firstGap(
  byNumber: Map<bigint, ArchivedFile> | undefined,
  from: SegmentId,
  to: bigint,
): bigint | undefined {
  for (let s = from.segno; s <= to; s++) if (!byNumber?.has(s)) return s;
  return undefined;
}
