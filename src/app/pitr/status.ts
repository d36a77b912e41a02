/**
 * The state of a point-in-time source's archive: base backups, WAL per timeline, gaps, conflicts,
 * the newest archived time, the archive's lag and whether the promised RPO holds. Read from the
 * repository alone (no server needed), under no lock.
 */
import { type SnapshotEntry, listSnapshots } from '../../core/index.js';
import { segmentName } from '../../databases/postgres/wal.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { parseDuration } from '../../config/index.js';
import { withRepository } from '../repository-access.js';
import { type WalCatalog, firstGap, segmentsByTimeline, walCatalog } from './catalog.js';
import { pitrSource } from './source.js';

export interface TimelineView {
  timeline: number;
  first: string;
  last: string;
  segments: number;
}

export interface WalStatus {
  source: string;
  files: number;
  bytes: number;
  timelines: TimelineView[];
  base_backups: { snapshot_id: string; timeline: number; start_segment: string; consistent_at: string }[];
  /** Segments missing between a timeline's first needed segment and its newest. */
  gaps: { timeline: number; missing: string }[];
  conflicts: string[];
  newest_archived_at: string | null;
  lag_ms: number | null;
  rpo_ms: number | null;
  rpo_met: boolean | null;
  /** The oldest and newest times a restore can reach (null: no base backup yet). */
  restorable: { from: string; to: string } | null;
  warnings: string[];
}

/** The default segment size, for catalogs with no base backup to say otherwise. */
const DEFAULT_SEG = 16 << 20;

/** The first missing segment of each timeline, from its oldest base backup (or first segment) to its newest. */
export function walGaps(c: WalCatalog): { timeline: number; missing: string }[] {
  const segSize = c.bases[0]?.segSize ?? DEFAULT_SEG;
  const out: { timeline: number; missing: string }[] = [];
  for (const [timeline, byNo] of segmentsByTimeline(c, segSize)) {
    const nos = [...byNo.keys()].sort((a, b) => (a < b ? -1 : 1));
    const base = c.bases.find((b) => b.timeline === timeline);
    const from = base ? base.startLsn / BigInt(segSize) : nos[0];
    const gap = firstGap(byNo, { timeline, segno: from }, nos[nos.length - 1]);
    if (gap !== undefined) out.push({ timeline, missing: segmentName({ timeline, segno: gap }, segSize) });
  }
  return out;
}

/** The status of a catalog at `nowMs` against an RPO. */
export function statusOf(source: string, c: WalCatalog, nowMs: number, rpoMs: number | null): WalStatus {
  const segSize = c.bases[0]?.segSize ?? DEFAULT_SEG;
  const timelines = [...segmentsByTimeline(c, segSize)].map(([timeline, byNo]) => {
    const names = [...byNo.values()].map((f) => f.name).sort();
    return { timeline, first: names[0], last: names[names.length - 1], segments: names.length };
  });
  timelines.sort((a, b) => a.timeline - b.timeline);
  const newest = Math.max(0, ...[...c.files.values()].map((f) => f.closedMs));
  const lag = newest ? nowMs - newest : null;
  const gaps = walGaps(c);
  const warnings: string[] = [];
  if (!c.bases.length) warnings.push(`no base backup of ${source} yet: run \`hoard wal base --source ${source}\``);
  if (gaps.length)
    warnings.push(
      `WAL is missing from ${gaps.map((g) => g.missing).join(', ')}: restores cannot pass it; take a new base backup`,
    );
  if (c.conflicts.length) warnings.push(`WAL files archived twice with different bytes: ${c.conflicts.join(', ')}`);
  const met = rpoMs === null || lag === null ? null : lag <= rpoMs;
  if (met === false)
    warnings.push(
      `the newest archived WAL is ${Math.round(lag! / 1000)} s old, more than the RPO of ${Math.round(rpoMs! / 1000)} s: check the server's archiver (pg_stat_archiver) and archive_timeout`,
    );
  return {
    source,
    files: c.files.size,
    bytes: [...c.files.values()].reduce((s, f) => s + f.size, 0),
    timelines,
    base_backups: c.bases.map((b) => ({
      snapshot_id: b.snapshotId,
      timeline: b.timeline,
      start_segment: segmentName({ timeline: b.timeline, segno: b.startLsn / BigInt(b.segSize) }, b.segSize),
      consistent_at: new Date(b.consistentMs).toISOString(),
    })),
    gaps,
    conflicts: c.conflicts,
    newest_archived_at: newest ? new Date(newest).toISOString() : null,
    lag_ms: lag,
    rpo_ms: rpoMs,
    rpo_met: met,
    restorable:
      c.bases.length && newest
        ? {
            from: new Date(c.bases[0].consistentMs).toISOString(),
            to: new Date(Math.max(newest, c.bases[0].consistentMs)).toISOString(),
          }
        : null,
    warnings,
  };
}

/** The status of a source's archive among `list`, against its configured RPO. */
export function pitrStatusOf(source: string, pitr: { rpo?: string }, list: SnapshotEntry[], nowMs: number): WalStatus {
  const rpo = pitr.rpo ? (parseDuration(pitr.rpo) ?? null) : null;
  return statusOf(source, walCatalog(list, source), nowMs, rpo);
}

/** The archive's status of `source` (default: the only source with pitr:). */
export async function walStatus(
  env: Env,
  p: Project,
  req: { source?: string },
  o: { signal?: AbortSignal } = {},
): Promise<WalStatus> {
  const src = pitrSource(p, req.source);
  return withRepository(env, { project: p, signal: o.signal, index: false }, async (repo) =>
    pitrStatusOf(src.name, src.pitr, (await listSnapshots(repo, o.signal)).snapshots, env.clock.now()),
  );
}
