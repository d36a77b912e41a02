/** `hoard prune`: delete data no snapshot uses, under an exclusive lock; `--dry-run` prints the plan. */
import { HoardError, type PrunePlan, type PruneSummary } from '../../core/index.js';
import { pruneProject } from '../../app/prune.js';
import { type FlagSpecs, parseSize } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { size } from '../render.js';

export const PRUNE_FLAGS: FlagSpecs = {
  'max-unused': {
    type: 'string',
    help: 'unused data the repository may keep: 5% (default), a size such as 100M, or unlimited',
  },
};

/** --max-unused as restic takes it: a share ("5%", "unlimited" = 100%) or a size ("100M"); kind "usage" otherwise. */
export function maxUnusedFlag(v: unknown): number | { bytes: number } | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (s === 'unlimited') return 1;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (m && Number(m[1]) <= 100) return Number(m[1]) / 100;
  try {
    if (!s.endsWith('%')) return { bytes: parseSize(s, '--max-unused') };
  } catch {
    /* the message below covers every form */
  }
  throw new HoardError(
    'usage',
    `--max-unused must be a percentage from 0% to 100%, a size such as 100M, or unlimited, not ${String(v)}`,
  );
}

export function renderPrune(ctx: CommandContext, r: PrunePlan | PruneSummary, dry: boolean): void {
  const { indexFiles: _i, ...shown } = r;
  if (ctx.json) {
    ctx.out(JSON.stringify({ message_type: 'prune', dry_run: dry, ...shown }));
    return;
  }
  ctx.out(
    `${r.snapshots} snapshot(s) use ${r.blobs.used} blobs; ${r.blobs.unused} blob(s), ${size(r.bytes.unused)}, are unused`,
  );
  ctx.out(
    `${dry ? 'would delete' : 'deleted'} ${r.remove.length} unused pack(s), ${r.unindexed.length} unreferenced pack(s); ${dry ? 'would repack' : 'repacked'} ${r.repack.length} pack(s) (${size(r.bytes.repack)} copied); ${r.keep} pack(s) kept`,
  );
  if (dry) ctx.out(`would free about ${size(r.bytes.freed)} of ${size(r.bytes.total)}; nothing was changed`);
  else ctx.out(`freed ${size((r as PruneSummary).freedActual)} (planned ${size(r.bytes.freed)})`);
}

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'delete data no snapshot uses (crash-safe; --dry-run shows the plan)',
  usage: 'hoard prune [--max-unused 5%|100M|unlimited] [--dry-run]',
  flags: {
    ...PRUNE_FLAGS,
    'dry-run': { type: 'boolean', short: 'n', help: 'print what would be deleted and repacked, change nothing' },
  },
  async run(ctx) {
    const dry = ctx.args.flags['dry-run'] === true;
    const r = await pruneProject(ctx.env, await ctx.project(), {
      maxUnused: maxUnusedFlag(ctx.args.flags['max-unused']),
      dryRun: dry,
      signal: ctx.signal,
      report: ctx.report,
    });
    renderPrune(ctx, r, dry);
    return 0;
  },
};
