/**
 * Retention of archived WAL: a WAL snapshot is kept while a kept base backup of its source needs
 * it, and removed once every file in it is older than the oldest kept base backup's first segment
 * (timeline history files are kept: they are tiny and recovery reads them). Base backups follow
 * the ordinary rules; WAL has none of its own. A source with no base backup keeps all its WAL.
 * Pure: snapshots and the base backups being removed in, a decision per WAL snapshot out.
 */
import type { SnapshotEntry } from '../../core/index.js';
import { parseSegment, walFileKind } from '../../databases/postgres/wal.js';
import { walCatalog } from './catalog.js';

export interface WalDecision {
  keep: boolean;
  reason: string;
}

/** Decisions for every WAL snapshot in `list`, given the ids the ordinary rules remove. */
export function walDecisions(list: SnapshotEntry[], removing: Set<string>): Map<string, WalDecision> {
  const out = new Map<string, WalDecision>();
  const sources = new Set(
    list
      .filter((e) => e.snapshot.hoard?.kind === 'wal')
      .map((e) => (e.snapshot.hoard?.source as { name?: unknown } | undefined)?.name)
      .filter((n): n is string => typeof n === 'string'),
  );
  for (const source of sources) {
    const c = walCatalog(list, source);
    const kept = c.bases.filter((b) => !removing.has(b.snapshotId));
    const oldest = kept[0];
    for (const e of c.walSnapshots) {
      if (!oldest) {
        out.set(e.id, {
          keep: true,
          reason: c.bases.length
            ? 'WAL of a source whose base backups all go: kept'
            : 'WAL kept until a base backup exists',
        });
        continue;
      }
      const first = oldest.startLsn / BigInt(oldest.segSize);
      const files = ((e.snapshot.hoard?.wal as { files?: { name?: unknown }[] } | undefined)?.files ?? []).map((f) =>
        String(f?.name),
      );
      const needed = files.some((n) => {
        const kind = walFileKind(n);
        if (!kind || kind === 'history') return true;
        const id = parseSegment(n, oldest.segSize);
        return !id || id.segno >= first || id.timeline > oldest.timeline;
      });
      out.set(
        e.id,
        needed
          ? { keep: true, reason: `WAL needed by base backup ${oldest.snapshotId.slice(0, 8)} or later` }
          : { keep: false, reason: `WAL older than the oldest kept base backup (${oldest.snapshotId.slice(0, 8)})` },
      );
    }
  }
  return out;
}
