/** restic's forget flags (keep-*, group-by) plus hoard's (--expired, --older-than), parsed into a cleanup request. */
import { listFlag, textFlag } from '../args.js';
import { type GfsRules, type GroupKey, type Span, HoardError } from '../../core/index.js';
import { parseDuration, retentionRuleDays } from '../../config/index.js';
import type { CleanupRequest } from '../../app/cleanup.js';
import type { FlagSpecs } from '../args.js';
import type { CommandContext } from '../context.js';

export const RETENTION_FLAGS: FlagSpecs = {
  'keep-last': { type: 'string', help: 'keep the last N snapshots (per group)' },
  'keep-hourly': { type: 'string', help: 'keep the last N hourly snapshots' },
  'keep-daily': { type: 'string', help: 'keep the last N daily snapshots' },
  'keep-weekly': { type: 'string', help: 'keep the last N weekly snapshots' },
  'keep-monthly': { type: 'string', help: 'keep the last N monthly snapshots' },
  'keep-yearly': { type: 'string', help: 'keep the last N yearly snapshots' },
  'keep-within': {
    type: 'string',
    help: "keep snapshots within DURATION of the group's newest (restic's 1y2m3d4h: m = months)",
  },
  'keep-tag': { type: 'list', help: 'keep snapshots with this tag (repeatable)' },
  'group-by': { type: 'string', help: 'group by source (default), or host,paths,tags like restic' },
  'time-zone': { type: 'string', help: "time zone for daily/weekly/monthly buckets (default: this machine's)" },
  expired: {
    type: 'boolean',
    help: "remove backups past their expiry (cleanup's default when no other rule is given)",
  },
  'older-than': { type: 'string', help: 'remove backups older than DAYS (or a duration: 12h, 30d)' },
  'allow-empty': {
    type: 'boolean',
    help: 'allow rules that would remove every backup of a source (the newest is kept anyway)',
  },
};

function count(ctx: CommandContext, name: string): number | undefined {
  const v = textFlag(ctx.args, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new HoardError('usage', `--${name} must be a whole number, not ${v}`);
  return Number(v);
}

/** restic's --keep-within duration: 1y2m3d4h (calendar years and months, days, hours). */
export function resticDuration(v: string, flag: string): Span {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(v);
  if (!m || v === '')
    throw new HoardError('usage', `--${flag} must be a duration such as 30d, 12h or 1y2m (m: months), not ${v}`);
  const [years, months, days, hours] = m.slice(1).map((x) => Number(x ?? 0));
  return { years, months, days, hours };
}

/** The request the flags describe; kind "usage" for malformed values (ranges are checked by the policy). */
export async function retentionRequest(ctx: CommandContext): Promise<CleanupRequest> {
  const p = await ctx.project();
  const f = ctx.args.flags;
  const gfs: GfsRules = {};
  for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    const n = count(ctx, `keep-${k}`);
    if (n !== undefined) gfs[k] = n;
  }
  if (f['keep-within'] !== undefined) gfs.within = resticDuration(textFlag(ctx.args, 'keep-within')!, 'keep-within');
  if (listFlag(ctx.args, 'keep-tag')?.length) gfs.tags = listFlag(ctx.args, 'keep-tag')!;
  const older = textFlag(ctx.args, 'older-than');
  const olderThanMs =
    older === undefined ? undefined : /^-?\d+$/.test(older) ? Number(older) * 86_400_000 : parseDuration(older);
  if (older !== undefined && olderThanMs === undefined)
    throw new HoardError('usage', `--older-than must be days or a duration such as 12h or 30d, not ${older}`);
  const groupBy =
    f['group-by'] === undefined
      ? undefined
      : (textFlag(ctx.args, 'group-by')!
          .split(',')
          .map((g) => g.trim()) as GroupKey[]);
  for (const g of groupBy ?? [])
    if (!['source', 'host', 'paths', 'tags'].includes(g))
      throw new HoardError('usage', `--group-by takes source, host, paths and tags, not ${g}`);
  return {
    gfs: Object.keys(gfs).length ? gfs : undefined,
    expired: f.expired === true ? true : undefined,
    olderThanMs,
    groupBy,
    timeZone: textFlag(ctx.args, 'time-zone'),
    allowEmpty: f['allow-empty'] === true,
    preMigrationDays: retentionRuleDays(p.config.retention?.['pre-migration']) ?? undefined,
    source: textFlag(ctx.args, 'source'),
    environment: textFlag(ctx.args, 'env'),
  };
}
