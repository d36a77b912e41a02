/** `hoard status`: each source's last backup, age, next run and verification; the repository; warnings. */
import { readStatus } from '../../app/catalog.js';
import type { Command } from '../context.js';
import { paint, relative, size, table, when } from '../render.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'per source: last backup and its age, next run, last verification; repository size; warnings',
  usage: 'hoard status [--verbose] [--json]',
  flags: { verbose: { type: 'boolean', short: 'v', help: 'also show jobs, schedules and lock details' } },
  async run(ctx) {
    const s = await readStatus(ctx.env, await ctx.project(), ctx.signal);
    if (ctx.json) {
      ctx.out(JSON.stringify(s));
      return 0;
    }
    const c = paint(ctx.env.isTTY, ctx.env.vars);
    const now = ctx.env.clock.now();
    const verbose = ctx.args.flags.verbose === true;
    ctx.out(
      `${c.bold('repository')} ${s.repository.url}: ${size(s.repository.size_bytes)}, ${s.repository.snapshots} snapshot(s)${s.locks.total ? `, ${s.locks.total} lock(s)${s.locks.stale ? ` (${s.locks.stale} stale)` : ''}` : ''}`,
    );
    if (s.config)
      ctx.out(`${c.bold('config')}     ${s.config}${s.environment ? ` (environment ${s.environment})` : ''}`);
    if (s.sources.length) {
      const head = [
        'Source',
        'Type',
        'Env',
        'Last backup',
        'Age',
        'Next run',
        'Verified',
        ...(verbose ? ['Jobs', 'Schedule', 'Backups'] : []),
      ];
      const rows = s.sources.map((x) => [
        x.source,
        x.type,
        x.environment ?? '',
        x.last_backup ? `${x.last_backup.id.slice(0, 8)} ${when(Date.parse(x.last_backup.time))}` : c.yellow('never'),
        x.last_backup ? `${x.last_backup.age_hours.toFixed(1)} h` : '-',
        x.next_run ? relative(Date.parse(x.next_run), now) : '-',
        x.last_verification
          ? `${x.last_verification.ok ? c.green('ok') : c.red('FAILED')} ${relative(Date.parse(x.last_verification.at), now)}`
          : c.dim('never'),
        ...(verbose ? [x.jobs.join(',') || '-', x.schedule ?? '-', String(x.snapshots)] : []),
      ]);
      ctx.out('');
      for (const l of table(head, rows, c)) ctx.out(l);
    } else ctx.out('no sources configured (hoard.yaml): run `hoard init` to set them up');
    if (s.copies.length) {
      ctx.out('');
      for (const l of table(
        ['Copy to', 'Jobs', 'Missing', 'Lag'],
        s.copies.map((x) => [
          x.destination,
          x.jobs.join(','),
          x.error ? c.red('unreadable') : x.missing ? c.yellow(String(x.missing)) : c.green('0'),
          x.lag_hours === null ? '-' : x.lag_hours ? `${x.lag_hours.toFixed(1)} h` : 'up to date',
        ]),
        c,
      ))
        ctx.out(l);
    }
    const pitr = s.sources.filter((x) => x.pitr);
    if (pitr.length) {
      ctx.out('');
      for (const l of table(
        ['Point in time', 'Newest WAL', 'Lag', 'RPO', 'Base backups', 'Restorable from'],
        pitr.map(({ source, pitr: w }) => [
          source,
          w!.newest_archived_at ? when(Date.parse(w!.newest_archived_at)) : c.yellow('none'),
          w!.lag_ms === null ? '-' : `${Math.round(w!.lag_ms / 1000)} s`,
          w!.rpo_ms === null
            ? '-'
            : `${Math.round(w!.rpo_ms / 1000)} s ${w!.rpo_met ? c.green('met') : c.red('MISSED')}`,
          w!.gaps.length ? c.red(`${w!.base_backups.length}, gap`) : String(w!.base_backups.length),
          w!.restorable ? when(Date.parse(w!.restorable.from)) : c.yellow('no base backup'),
        ]),
        c,
      ))
        ctx.out(l);
    }
    if (s.other_snapshots && verbose) ctx.out(`${s.other_snapshots} snapshot(s) belong to no configured source`);
    if (s.warnings.length) {
      ctx.out('');
      for (const w of s.warnings) ctx.out(`${c.yellow('warning:')} ${w}`);
    }
    return 0;
  },
};
