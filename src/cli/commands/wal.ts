/**
 * `hoard wal push|fetch|base|status`: the doors of point-in-time recovery for PostgreSQL
 * (archive_command, restore_command, base backups and the archive's state). docs/pitr.md.
 */
import { HoardError, isHoardError } from '../../core/index.js';
import { EXIT, withExitCode } from '../exit-codes.js';
import { pushWal } from '../../app/pitr/archive.js';
import { fetchWal } from '../../app/pitr/fetch.js';
import { takeBaseBackup } from '../../app/pitr/base.js';
import { walStatus } from '../../app/pitr/status.js';
import { markRestorePoint } from '../../app/pitr/mark.js';
import { textFlag } from '../args.js';
import { type Command, formatBytes } from '../context.js';
import { backupOptions, labelsFrom } from './database.js';
import { renderWalStatus } from './wal-render.js';

export const walCommand: Command = {
  name: 'wal',
  summary: 'PostgreSQL point-in-time recovery: wal push %p | fetch %f %p | base | mark NAME | status',
  usage: 'hoard wal push PATH | wal fetch NAME PATH | wal base | wal mark NAME | wal status   [--source NAME]',
  flags: {
    source: { type: 'string', help: 'the postgres source with pitr: (default: the only one)' },
    label: { type: 'string', help: 'wal base: a name to find the base backup by' },
    reason: { type: 'string', help: 'wal base: why it was taken' },
  },
  async run(ctx) {
    const [sub, a, b] = ctx.args.positionals;
    const p = await ctx.project();
    const source = textFlag(ctx.args, 'source');
    switch (sub) {
      case 'push': {
        if (!a)
          throw new HoardError('usage', 'wal push needs the path of a WAL file', {
            hint: "archive_command = 'hoard wal push %p'",
          });
        const r = await pushWal(ctx.env, p, { source, file: a }, backupOptions(ctx));
        if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', ...r, snapshot_id: r.snapshotId }));
        else if (r.already) ctx.out(`${a}: already archived`);
        else ctx.out(`archived ${r.stored.join(', ')} in ${r.durationMs} ms (snapshot ${r.snapshotId?.slice(0, 8)})`);
        return 0;
      }
      case 'fetch': {
        if (!a || !b)
          throw new HoardError('usage', 'wal fetch needs a WAL file name and the path to write it to', {
            hint: "restore_command = 'hoard wal fetch %f %p'",
          });
        // "not archived" (exit 1) is the archive's end to PostgreSQL; any other failure must stop recovery
        const r = await fetchWal(ctx.env, p, { source, name: a, dest: b }, { signal: ctx.signal }).catch((e) => {
          throw isHoardError(e, 'not-found') ? e : withExitCode(e, EXIT.recoveryFatal);
        });
        if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', name: a, size: r.size }));
        return 0;
      }
      case 'base': {
        const r = await takeBaseBackup(ctx.env, p, { source, labels: labelsFrom(ctx) }, backupOptions(ctx));
        if (ctx.json)
          ctx.out(
            JSON.stringify({
              message_type: 'summary',
              snapshot_id: r.snapshotId,
              source: r.source,
              timeline: r.timeline,
              start_lsn: r.startLsn,
              end_lsn: r.endLsn,
              start_segment: r.startSegment,
              consistent_at: r.consistentAt,
              data_added: r.stats.data_added,
            }),
          );
        else
          ctx.out(
            `base backup ${r.snapshotId?.slice(0, 8)} of ${r.source}: timeline ${r.timeline}, WAL from ${r.startSegment} (${r.startLsn} to ${r.endLsn}); restores can reach ${r.consistentAt} and later; added ${formatBytes(r.stats.data_added)}`,
          );
        return 0;
      }
      case 'mark': {
        if (!a)
          throw new HoardError('usage', 'wal mark needs a name for the restore point', {
            hint: 'hoard wal mark before-migration, then hoard restore --restore-point before-migration',
          });
        const r = await markRestorePoint(p, { source, name: a });
        if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', ...r }));
        else
          ctx.out(
            `restore point ${r.name} of ${r.source} at ${r.lsn} (segment ${r.segment}, switched so that it is archived now); restore to it with --restore-point ${r.name}`,
          );
        return 0;
      }
      case 'status': {
        const s = await walStatus(ctx.env, p, { source }, { signal: ctx.signal });
        if (ctx.json) ctx.out(JSON.stringify(s));
        else for (const line of renderWalStatus(s)) ctx.out(line);
        return s.gaps.length || s.conflicts.length ? 5 : 0;
      }
      default:
        throw new HoardError('usage', `unknown wal command ${sub ?? ''}`.trim(), {
          hint: 'use wal push PATH, wal fetch NAME PATH, wal base, wal mark NAME or wal status',
        });
    }
  },
};
