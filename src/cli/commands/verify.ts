/** `hoard verify`: structure (--quick), read-back (default, --subset N%) or a restore drill (--drill); results recorded in the repository. */
import { HoardError, type VerifyLevel } from '../../core/index.js';
import { type VerifyResult, verifyBackups } from '../../app/verify.js';
import { reportHtml, reportMarkdown, verificationReport } from '../../app/verify-report.js';
import { parseDuration } from '../../config/index.js';
import { parseSize, listFlag, textFlag } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { paint, size } from '../render.js';
import { backupOptions, connectionFrom } from './database.js';

function subsetFlag(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(String(v));
  if (!m || !(Number(m[1]) > 0 && Number(m[1]) <= 100))
    throw new HoardError('usage', `--subset must be a percentage above 0% and up to 100%, not ${String(v)}`);
  return Number(m[1]) / 100;
}

function level(ctx: CommandContext): VerifyLevel {
  const f = ctx.args.flags;
  if (f.quick && f.drill) throw new HoardError('usage', 'choose --quick or --drill, not both');
  return f.quick ? 'quick' : f.drill ? 'drill' : 'read-back';
}

function render(ctx: CommandContext, results: VerifyResult[]): void {
  if (ctx.json) {
    for (const r of results)
      ctx.out(
        JSON.stringify({
          message_type: 'verification',
          snapshot_id: r.backup.id,
          source: r.backup.source,
          level: r.level,
          ok: r.ok,
          message: r.message,
          checks: r.checks,
          affected: r.affected,
          damaged_packs: r.damaged_packs,
          leftovers_removed: r.leftovers_removed,
          record_id: r.record_id,
          restore_ms: r.restore_ms,
          objective_missed: r.objective_missed,
        }),
      );
    return;
  }
  const c = paint(ctx.env.isTTY, ctx.env.vars);
  for (const r of results) {
    const what = r.backup.source ?? r.backup.paths.join(' ');
    ctx.out(
      `${r.ok ? c.green('valid') : c.red('FAILED')} ${r.backup.short_id} ${what} (${r.level}, ${size(r.backup.size)}): ${r.message}`,
    );
    for (const ch of r.checks)
      if (!r.ok || ctx.args.flags.verbose) ctx.out(`  ${ch.ok ? 'ok  ' : c.red('FAIL')} ${ch.name}: ${ch.message}`);
    if (r.affected.length)
      ctx.out(
        `  affected files: ${r.affected.slice(0, 20).join(', ')}${r.affected.length > 20 ? ` and ${r.affected.length - 20} more` : ''}`,
      );
    if (r.damaged_packs.length) ctx.out(`  damaged packs: ${r.damaged_packs.map((p) => p.slice(0, 8)).join(', ')}`);
    for (const l of r.leftovers_removed) ctx.out(`  removed ${l}, left by an interrupted drill`);
    if (r.objective_missed) process.stderr.write(`warning: ${r.objective_missed}\n`);
  }
  const bad = results.filter((r) => !r.ok).length;
  ctx.out(bad ? `${bad} of ${results.length} backup(s) FAILED verification` : `${results.length} backup(s) verified`);
}

/** `hoard verify report [--since 90d] [--source S] [--format md|json|html]`: the recorded verifications of a period. */
async function report(ctx: CommandContext): Promise<number> {
  const since = textFlag(ctx.args, 'since');
  const ms = since === undefined ? undefined : parseDuration(since);
  if (since !== undefined && ms === undefined)
    throw new HoardError('usage', `--since must be a duration such as 90d, 12h or 30m, not ${since}`);
  const format = textFlag(ctx.args, 'format') ?? (ctx.json ? 'json' : 'md');
  if (!['md', 'json', 'html'].includes(format))
    throw new HoardError('usage', `--format must be md, json or html, not ${format}`);
  const r = await verificationReport(
    ctx.env,
    await ctx.project(),
    { sinceMs: ms === undefined ? undefined : ctx.env.clock.now() - ms, source: textFlag(ctx.args, 'source') },
    { signal: ctx.signal },
  );
  ctx.out(format === 'json' ? JSON.stringify(r) : format === 'html' ? reportHtml(r) : reportMarkdown(r));
  return 0;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary:
    'verify backups: --quick (structure), read-back (default) or --drill (restore into a scratch target and check)',
  usage:
    'hoard verify ID|--latest|--all|--source NAME [--quick|--drill] [--subset N%] [--min-size SIZE] ' +
    '[--drill-server URL] [--drill-target NAME] [--sql QUERY]\n' +
    '       hoard verify report [--since 90d] [--source NAME] [--format md|json|html]',
  flags: {
    latest: { type: 'boolean', help: 'the newest backup (of --source)' },
    all: { type: 'boolean', help: 'every backup (of --source)' },
    source: { type: 'string', help: 'backups of this source' },
    quick: { type: 'boolean', help: 'structure only: every blob indexed, every pack present with its size' },
    drill: { type: 'boolean', help: 'restore into a scratch database or folder and check it' },
    subset: { type: 'string', help: 'read back this share of the packs, e.g. 5%' },
    'min-size': { type: 'string', help: 'fail a backup smaller than SIZE (e.g. 10MB; default: verify.min_size)' },
    'drill-server': { type: 'string', help: "drill on this server (URL or env:VAR; default: the source's)" },
    'drill-target': {
      type: 'string',
      help: 'the scratch database name (must not exist; default hoard_drill_<pid>_<random>)',
    },
    sql: {
      type: 'list',
      help: 'a sanity query for the drill; must return a true first value (repeatable; default: verify.drill.sql)',
    },
    'no-record': { type: 'boolean', help: 'do not store the result in the repository' },
    verbose: { type: 'boolean', short: 'v', help: 'show every check, not only failures' },
    since: { type: 'string', help: 'report: only verifications in this last span, e.g. 90d' },
    format: { type: 'string', help: 'report: md (default), json or html' },
  },
  async run(ctx) {
    if (ctx.args.positionals[0] === 'report') return report(ctx);
    const f = ctx.args.flags;
    for (const only of ['since', 'format'])
      if (f[only] !== undefined) throw new HoardError('usage', `--${only} is for \`hoard verify report\``);
    const p = await ctx.project();
    const minSize = f['min-size'] !== undefined ? parseSize(textFlag(ctx.args, 'min-size')!, '--min-size') : undefined;
    const req = {
      ref: ctx.args.positionals[0],
      latest: f.latest === true,
      all: f.all === true,
      source: textFlag(ctx.args, 'source'),
      level: level(ctx),
      subset: subsetFlag(f.subset),
      minSize,
      record: f['no-record'] !== true,
      drill: {
        server: f['drill-server'] !== undefined ? connectionFrom(ctx, textFlag(ctx.args, 'drill-server')!) : undefined,
        target: textFlag(ctx.args, 'drill-target'),
        sql: listFlag(ctx.args, 'sql'),
      },
    };
    if (req.subset !== undefined && req.level !== 'read-back')
      throw new HoardError('usage', '--subset is for read-back (the default level)');
    const o = backupOptions(ctx, { dryRun: false });
    const results = await verifyBackups(ctx.env, p, req, { info: o.info, report: o.report, signal: ctx.signal });
    render(ctx, results);
    return results.every((r) => r.ok) ? 0 : EXIT.verify;
  },
};
