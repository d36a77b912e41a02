/**
 * The point-in-time half of `hoard restore`: `--source PG --at TIME --target DIR [--start PORT]`
 * for a source with pitr: goes to app/pitr/restore.ts; anything else returns undefined and is a
 * snapshot restore (for a logical-only source, --at picks the newest snapshot at or before TIME).
 */
import { restorePointInTime } from '../../app/pitr/restore.js';
import { parseTime } from '../../app/select.js';
import { HoardError } from '../../core/index.js';
import { type FlagSpecs, textFlag } from '../args.js';
import type { CommandContext } from '../context.js';

export const PITR_FLAGS: FlagSpecs = {
  start: {
    type: 'string',
    help: 'point-in-time restores: start the restored server on this port and wait until recovery reaches --at',
  },
  timeline: { type: 'string', help: 'point-in-time restores: the WAL timeline to follow when the history forked' },
  xid: { type: 'string', help: 'point-in-time restores: stop once this transaction id has committed' },
  'restore-point': {
    type: 'string',
    help: 'point-in-time restores: stop at this restore point (hoard wal mark NAME, pg_create_restore_point)',
  },
};

function whole(ctx: CommandContext, flag: string, min: number, max: number): number | undefined {
  const v = textFlag(ctx.args, flag);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new HoardError('usage', `--${flag} must be a whole number from ${min} to ${max}, not ${v}`);
  return Number(v);
}

/** Runs a point-in-time restore when the flags ask for one; its exit code, or undefined. */
export async function pointInTime(ctx: CommandContext): Promise<number | undefined> {
  const source = textFlag(ctx.args, 'source');
  const at = textFlag(ctx.args, 'at');
  const xid = textFlag(ctx.args, 'xid');
  const restorePoint = textFlag(ctx.args, 'restore-point');
  const p = await ctx.project();
  const cfg = source ? p.config.sources?.[source] : undefined;
  const isPitr = cfg?.type === 'postgres' && cfg.pitr !== undefined;
  const asked = at !== undefined || xid !== undefined || restorePoint !== undefined;
  if (!isPitr && at !== undefined && source && cfg)
    ctx.report({
      type: 'restore.warning',
      path: source,
      message: `${source} has no pitr: section, so --at restores its newest backup taken at or before ${at} (changes after it are not in that backup)`,
    });
  if (!isPitr || !asked) {
    if (['start', 'timeline', 'xid', 'restore-point'].some((f) => ctx.args.flags[f] !== undefined))
      throw new HoardError('usage', '--start, --timeline, --xid and --restore-point are for point-in-time restores', {
        hint: 'give --source NAME (a postgres source with pitr:) and --at TIME, --xid XID or --restore-point NAME',
      });
    return undefined;
  }
  const target = textFlag(ctx.args, 'target');
  if (!target)
    throw new HoardError('usage', 'a point-in-time restore writes a data directory: give --target DIR', {
      hint: `hoard restore --source ${source} --at "${at ?? 'TIME'}" --target /var/lib/postgresql/restored [--start 5433]`,
    });
  const r = await restorePointInTime(
    ctx.env,
    p,
    {
      source,
      atMs: at === undefined ? undefined : parseTime(at, ctx.env.clock.now()),
      xid,
      restorePoint,
      target,
      timeline: whole(ctx, 'timeline', 1, 0xffffffff),
      port: whole(ctx, 'start', 1, 65535),
    },
    { signal: ctx.signal },
  );
  if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', ...r }));
  else {
    ctx.out(
      `restored base backup ${r.base_snapshot.slice(0, 8)} of ${r.source} into ${r.target}; recovery replays ${r.segments} WAL segment(s) on timeline ${r.timeline} to ${r.at}`,
    );
    if (r.end_of_archive)
      ctx.out(`no archived transaction commits after ${r.at}: recovery runs to the end of the archive`);
    if (r.started) {
      ctx.out(
        `the server runs on 127.0.0.1:${r.port}; recovery reached ${r.reached ?? 'no transaction after the base backup'} (log: ${r.log})`,
      );
    } else {
      const asRoot = process.getuid?.() === 0;
      ctx.out(
        `start it with: ${asRoot ? `chown -R postgres: ${r.target} && sudo -u postgres ` : ''}pg_ctl -D ${r.target} -o "-p PORT" start   (it recovers to ${r.at}, then promotes; its restore_command needs hoard.yaml and the repository password readable by that user)`,
      );
      ctx.out(
        'if it stops with "recovery ended before configured recovery target was reached", no archived transaction commits after that time: comment out recovery_target_time in postgresql.auto.conf and start it again',
      );
      ctx.out(
        "archiving is off in the restored copy (the base backup's archive and recovery settings were disabled): to make it the new primary, set archive_mode = on and archive_command = 'hoard wal push %p' in its postgresql.auto.conf",
      );
    }
  }
  return 0;
}
