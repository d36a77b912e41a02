/** `hoard list` (a table of backups with filters) and `hoard info ID` (one backup in full). */
import { HoardError } from '../../core/index.js';
import { type BackupRecord, expiresInMs, text } from '../../app/snapshot-view.js';
import { backupInfo, listBackups } from '../../app/catalog.js';
import type { Command, CommandContext } from '../context.js';
import { daysFlag, textFlag } from '../args.js';
import { type Paint, paint, relative, size, span, table, when } from '../render.js';

/** The CLI's read options: a line on stderr while a prune's lock is waited for. */
/** How the read commands wait for a prune: told on stderr. */
export const reading = (ctx: CommandContext) => ({
  signal: ctx.signal,
  onWait: (h: string) => process.stderr.write(`hoard: the repository is locked (${h}); waiting\n`),
});

function warnDamaged(damaged: { id: string; error: string }[]): void {
  for (const d of damaged) process.stderr.write(`warning: snapshot ${d.id.slice(0, 8)} cannot be read: ${d.error}\n`);
}

/** "valid · drilled 2 h ago", "FAILED drill 3 d ago: …" or "not verified". */
export function statusText(r: BackupRecord, now: number, c: Paint): string {
  const v = r.verification;
  const pin = r.pinned ? ' · pinned' : '';
  const wait = r.awaiting_confirmation
    ? ` · ${c.yellow(`awaiting confirmation${r.ticket ? ` of ${r.ticket}` : ''}`)}`
    : '';
  const confirmed = r.confirmation ? ` · confirmed by ${r.confirmation.by}` : '';
  if (!v) return `${c.dim('not verified')}${pin}${wait}${confirmed}`;
  const ago = relative(Date.parse(v.at), now);
  const done =
    ({ quick: 'checked', 'read-back': 'read back', drill: 'drilled' } as Record<string, string>)[v.level] ?? v.level;
  return v.ok
    ? `${c.green('valid')} · ${done} ${ago}${pin}${wait}${confirmed}`
    : `${c.red(`FAILED ${v.level} ${ago}`)}${v.message ? `: ${v.message}` : ''}${pin}${wait}${confirmed}`;
}

function expiresText(r: BackupRecord, now: number, c: Paint): string {
  const left = expiresInMs(r, now);
  if (left === null) return c.dim('never');
  return left <= 0 ? c.yellow('expired') : `in ${span(left)}`;
}

export const listCommand: Command = {
  name: 'list',
  summary: 'list backups: created, kind, label, environment, source, size, status, expiry',
  usage: 'hoard list [--kind K] [--days N] [--env E] [--source S] [--label L] [--show-size] [--json]',
  flags: {
    kind: { type: 'string', aliases: ['type'], help: 'only backups of this kind (daily, manual, pre-migration, …)' },
    days: { type: 'string', help: 'only backups from the last N days' },
    env: { type: 'string', help: 'only backups of this environment' },
    source: { type: 'string', help: 'only backups of this source' },
    label: { type: 'string', help: 'only backups with this label' },
    host: { type: 'string', help: 'only backups made on this host' },
    'show-size': { type: 'boolean', help: 'also show the new data each backup added to the repository' },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const now = ctx.env.clock.now();
    const q = {
      kind: textFlag(ctx.args, 'kind'),
      days: daysFlag(f.days, '--days'),
      environment: textFlag(ctx.args, 'env'),
      source: textFlag(ctx.args, 'source'),
      label: textFlag(ctx.args, 'label'),
      host: textFlag(ctx.args, 'host'),
    };
    const { backups: shown, total, damaged } = await listBackups(ctx.env, await ctx.project(), q, reading(ctx));
    warnDamaged(damaged);
    if (ctx.json) {
      ctx.out(JSON.stringify(shown));
      return 0;
    }
    if (!shown.length) {
      ctx.out(total ? `no backups match (${total} in the repository)` : 'no backups yet: run `hoard backup`');
      return 0;
    }
    const c = paint(ctx.env.isTTY, ctx.env.vars);
    const showSize = f['show-size'] === true;
    const head = [
      'ID',
      'Created',
      'Kind',
      'Label',
      'Env',
      'Source',
      'Size',
      ...(showSize ? ['Added'] : []),
      'Status',
      'Expires',
    ];
    const rows = shown.map((r) => [
      r.short_id,
      when(r.created_ms),
      r.kind,
      r.label ?? '',
      r.environment ?? '',
      r.source ?? (r.paths.join(' ') || ''),
      size(r.size),
      ...(showSize ? [size(r.data_added)] : []),
      statusText(r, now, c),
      expiresText(r, now, c),
    ]);
    for (const l of table(head, rows, c)) ctx.out(l);
    const bytes = shown.reduce((s, r) => s + (r.size ?? 0), 0);
    ctx.out(
      c.dim(
        `${shown.length} backup${shown.length === 1 ? '' : 's'}${shown.length < total ? ` of ${total}` : ''}, ${size(bytes)} backed up`,
      ),
    );
    return 0;
  },
};

export const infoCommand: Command = {
  name: 'info',
  summary: 'show one backup in full',
  usage: 'hoard info ID|latest|LABEL [--source S] [--json]',
  flags: { source: { type: 'string', help: 'with "latest": the newest backup of this source' } },
  async run(ctx) {
    const ref = ctx.args.positionals[0];
    if (!ref)
      throw new HoardError('usage', 'info needs a snapshot id', {
        hint: 'give an id, a unique prefix, "latest" or a label (see `hoard list`)',
      });
    const now = ctx.env.clock.now();
    const { backup: r, entry: e } = await backupInfo(ctx.env, await ctx.project(), ref, {
      ...reading(ctx),
      source: textFlag(ctx.args, 'source'),
    });
    const h = (e.snapshot.hoard ?? {}) as Record<string, unknown>;
    if (ctx.json) {
      ctx.out(
        JSON.stringify({
          ...r,
          hoard: e.snapshot.hoard ?? null,
          summary: e.snapshot.summary ?? null,
          tree: e.snapshot.tree,
        }),
      );
      return 0;
    }
    const c = paint(ctx.env.isTTY, ctx.env.vars);
    const line = (k: string, v: string | null | undefined) => {
      if (v) ctx.out(`${c.bold(k.padEnd(12))} ${v}`);
    };
    line('snapshot', r.id);
    line('created', `${when(r.created_ms)} (${relative(r.created_ms, now)}) on ${r.hostname}`);
    line('kind', r.kind);
    line('label', r.label);
    line('reason', r.reason);
    line('description', r.description);
    line('environment', r.environment);
    line('source', r.source ? `${r.source} (${r.source_type})` : null);
    const db = h.database as
      | { engine: string; name: string | null; url: string; format: string; server_version?: string }
      | undefined;
    if (db)
      line(
        'database',
        `${db.engine} ${db.name ?? '(all)'} at ${db.url}, ${db.format} format${db.server_version ? `, server ${db.server_version}` : ''}`,
      );
    line('paths', r.paths.join(' '));
    line(
      'size',
      `${size(r.size)}${r.data_added !== null ? ` (added ${size(r.data_added)} to the repository)` : ''}${r.duration_ms !== null ? ` in ${span(r.duration_ms)}` : ''}`,
    );
    const tables = Array.isArray(h.tables) ? (h.tables as { name?: unknown; rows?: unknown }[]) : [];
    if (tables.length) line('tables', tables.map((t) => `${text(t?.name) ?? '?'} ${Number(t?.rows)}`).join(', '));
    const mig = h.migrations as { framework: string; applied: number; last?: string }[] | undefined;
    if (mig?.length)
      line(
        'migrations',
        mig.map((m) => `${m.framework}: ${m.applied} applied${m.last ? `, last ${m.last}` : ''}`).join('; '),
      );
    line('ticket', r.ticket);
    line(
      'confirmed',
      r.confirmation
        ? `by ${r.confirmation.by} at ${when(Date.parse(r.confirmation.at))}${r.confirmation.note ? `: ${r.confirmation.note}` : ''}`
        : r.awaiting_confirmation
          ? c.yellow(`awaiting: hoard confirm ${r.short_id} --by NAME`)
          : null,
    );
    line('status', statusText(r, now, c));
    line(
      'levels',
      Object.values(r.verification_levels)
        .map((v) => `${v.level} ${v.ok ? c.green('ok') : c.red('FAILED')} ${relative(Date.parse(v.at), now)}`)
        .join(', '),
    );
    line(
      'expires',
      r.expires_at
        ? `${r.expires_at.slice(0, 10)} (${expiresText(r, now, c)}; retention ${r.retention_days} d)`
        : 'never',
    );
    line('tags', r.tags.join(', '));
    line('restore', `hoard restore ${r.short_id}${r.source_type === 'files' || !db ? ' --target DIR' : ''}`);
    return 0;
  },
};
