/**
 * A base backup of a point-in-time source: pg_basebackup's tar streamed straight into one snapshot
 * of kind `base` (file `base.tar`; unchanged data files deduplicate from one base backup to the
 * next), with the server version, timeline, start and end LSN, WAL segment size and the server's
 * time once the backup had ended (the earliest time a restore from it can reach) in its metadata.
 * A failed pg_basebackup leaves no snapshot.
 */
import { type BackupOptions, type BackupSummary, HoardError, backupStreams } from '../../core/index.js';
import { observed } from '../../databases/index.js';
import { requireArchiving, startBaseBackup, walSettings } from '../../databases/postgres/basebackup.js';
import { parseLsn, segmentName, segmentOf } from '../../databases/postgres/wal.js';
import { labelMetadata, labelTags, type SnapshotLabels } from '../database-backup.js';
import type { Env } from '../environment.js';
import { type Project, environmentFor } from '../project.js';
import { withLock, withRepository } from '../repository-access.js';
import { retentionFor } from '../source-backup.js';
import { pitrConnection, pitrSource } from './source.js';

export const BASE_FILE = 'base.tar';

export interface BaseBackupResult extends BackupSummary {
  source: string;
  startLsn: string;
  endLsn: string;
  timeline: number;
  startSegment: string;
  consistentAt: string;
}

/** Takes a base backup of `source` (default: the only source with pitr:). */
export async function takeBaseBackup(
  env: Env,
  p: Project,
  req: { source?: string; labels?: SnapshotLabels },
  o: BackupOptions,
): Promise<BaseBackupResult> {
  const src = pitrSource(p, req.source);
  const c = await pitrConnection(p, src);
  const before = await walSettings(c);
  requireArchiving(before);
  const environment = environmentFor(p, src.config.environment);
  const r = retentionFor(p, 'base', environment);
  const labels: SnapshotLabels = {
    ...req.labels,
    kind: 'base',
    source: src.name,
    environment,
    retentionDays: r.days,
    retentionFrom: r.from,
    expiresAt: r.days === null ? null : new Date(env.clock.now() + r.days * 86_400_000).toISOString(),
  };
  let ended: { lsn: string; start: string; timeline: number; atMs: number } | undefined;
  const info = { ...o.info, tags: [...(o.info.tags ?? []), ...labelTags(labels, ['engine:postgres'])] };
  const summary = await withRepository(env, { project: p, signal: o.signal }, (repo) =>
    withLock(env, repo, false, () =>
      backupStreams(
        repo,
        [
          {
            filename: BASE_FILE,
            async open() {
              const bb = await startBaseBackup(c, before.major, o.signal);
              return {
                stream: bb.stream,
                done: observed(
                  bb.done.then(async () => {
                    const pos = bb.positions;
                    if (!pos.startLsn || !pos.endLsn || pos.timeline === undefined)
                      throw new HoardError(
                        'command-failed',
                        'the base backup holds no backup_label or backup_manifest with its WAL positions',
                        {
                          hint: 'use pg_basebackup of PostgreSQL 13 or later (it writes backup_manifest)',
                        },
                      );
                    ended = {
                      lsn: pos.endLsn,
                      start: pos.startLsn,
                      timeline: pos.timeline,
                      atMs: (await walSettings(c)).nowMs,
                    };
                  }),
                ),
              };
            },
          },
        ],
        {
          ...o,
          info,
          finalize: (x) => ({
            ...labelMetadata(labels, 'postgres'),
            base: {
              file: BASE_FILE,
              server_version: before.serverVersion,
              timeline: ended!.timeline,
              start_lsn: ended!.start,
              end_lsn: ended!.lsn,
              start_segment: startSegment(ended!.start, ended!.timeline, before.segSize),
              wal_segment_size: before.segSize,
              consistent_at: new Date(ended!.atMs).toISOString(),
            },
            size: { dump_bytes: x.files[0]?.size ?? 0 },
            duration_ms: x.durationMs,
          }),
        },
      ),
    ),
  );
  return {
    ...summary,
    source: src.name,
    startLsn: ended!.start,
    endLsn: ended!.lsn,
    timeline: ended!.timeline,
    startSegment: startSegment(ended!.start, ended!.timeline, before.segSize),
    consistentAt: new Date(ended!.atMs).toISOString(),
  };
}

function startSegment(lsn: string, timeline: number, segSize: number): string {
  return segmentName(segmentOf(parseLsn(lsn)!, timeline, segSize), segSize);
}
