/**
 * Commands that remove snapshots: `delete ID`, `cleanup` (hoard's policy, then prune), `forget`
 * (restic's flags), and `pin`/`unpin`. All under an exclusive lock; protected environments confirm
 * first; a plan (`--dry-run`) changes nothing.
 */
import { HoardError } from '../../core/index.js';
import {
  type CleanupOutcome,
  type Confirm,
  cleanupBackups,
  deleteBackup,
  forgetBackups,
  pinBackup,
} from '../../app/remove.js';
import type { Command, CommandContext } from '../context.js';
import { confirmProtected } from '../prompt.js';
import { paint, size, table, when } from '../render.js';
import { PRUNE_FLAGS, maxUnusedFlag } from './prune.js';
import { RETENTION_FLAGS, retentionRequest } from './retention-flags.js';

/** The CLI's confirmation: --yes, else the environment's name typed at a prompt. */
const confirmer =
  (ctx: CommandContext): Confirm =>
  (environment, action) =>
    confirmProtected(ctx, environment, action);

/** What every removal takes from the command line. */
const removeOptions = (ctx: CommandContext) => ({ confirm: confirmer(ctx), signal: ctx.signal, report: ctx.report });

const YES = {
  yes: {
    type: 'boolean' as const,
    short: 'y',
    aliases: ['confirm'],
    help: 'confirm removing backups of a protected environment',
  },
};
const unpruned = (bytes: number) => `${size(bytes)} of data only they used stays until \`hoard prune\``;

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'delete one backup (asks in protected environments)',
  usage: 'hoard delete ID|LABEL [--yes]',
  flags: { ...YES },
  async run(ctx) {
    const gone = await deleteBackup(ctx.env, await ctx.project(), ctx.args.positionals[0] ?? '', removeOptions(ctx));
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'summary',
          status: 'success',
          deleted_count: 1,
          deleted: [gone.backup],
          total_size_freed: gone.freed,
          pruned: false,
        }),
      );
    else
      ctx.out(
        `deleted backup ${gone.backup.short_id} (${gone.backup.source ?? gone.backup.paths.join(' ')}, ${when(gone.backup.created_ms)}); ${unpruned(gone.freed)}`,
      );
    return 0;
  },
};

/** Plans, and unless dry, confirms, removes and (with prune) prunes, all under one exclusive lock. */
async function runRetention(
  ctx: CommandContext,
  req: Awaited<ReturnType<typeof retentionRequest>>,
  o: { dry: boolean; prune: boolean },
): Promise<CleanupOutcome> {
  return cleanupBackups(ctx.env, await ctx.project(), {
    ...req,
    ...removeOptions(ctx),
    dryRun: o.dry,
    prune: o.prune,
    maxUnused: maxUnusedFlag(ctx.args.flags['max-unused']),
  });
}

function render(ctx: CommandContext, r: CleanupOutcome, dry: boolean): void {
  const { plan, estimate, pruned } = r;
  const removed = plan.remove;
  if (ctx.json) {
    const { indexFiles: _i, ...prune } = pruned ?? { indexFiles: [] };
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        status: 'success',
        dry_run: dry,
        deleted_count: dry ? 0 : removed.length,
        deleted: dry ? [] : removed,
        would_delete: dry ? removed : undefined,
        total_size_freed: pruned ? pruned.freedActual : dry ? estimate : 0,
        estimated_size_freed: estimate,
        pruned: !!pruned,
        prune: pruned ? prune : null,
        retention: plan.applied,
        decisions: plan.decisions.map((d) => ({ id: d.record.id, remove: d.remove, reasons: d.reasons })),
      }),
    );
    return;
  }
  const c = paint(ctx.env.isTTY, ctx.env.vars);
  if (plan.decisions.length) {
    const rows = plan.decisions.map((d) => [
      d.record.short_id,
      when(d.record.created_ms),
      d.record.kind,
      d.record.source ?? '',
      size(d.record.size),
      d.remove ? c.red('remove') : c.green('keep'),
      d.reason,
    ]);
    for (const l of table(['ID', 'Created', 'Kind', 'Source', 'Size', 'Action', 'Why'], rows, c)) ctx.out(l);
  }
  const n = removed.length;
  const s = n === 1 ? '' : 's';
  if (!n) ctx.out('nothing to remove');
  else if (dry)
    ctx.out(`dry run: ${n} backup${s} would be removed, freeing about ${size(estimate)}; nothing was changed`);
  else if (pruned)
    ctx.out(`removed ${n} backup${s}; prune freed ${size(pruned.freedActual)} (planned ${size(estimate)})`);
  else ctx.out(`removed ${n} backup${s}; ${unpruned(estimate)}`);
}

export const cleanupCommand: Command = {
  name: 'cleanup',
  summary: 'remove expired or old backups by policy, then prune (--dry-run prints the plan and why)',
  usage:
    'hoard cleanup [--expired] [--older-than DAYS] [--keep-daily N …] [--source S] [--env E] [--dry-run] ' +
    '[--yes] [--no-prune]',
  flags: {
    ...RETENTION_FLAGS,
    ...PRUNE_FLAGS,
    ...YES,
    source: { type: 'string', help: 'only backups of this source' },
    env: { type: 'string', help: 'only backups of this environment' },
    'dry-run': { type: 'boolean', short: 'n', help: 'print the plan, change nothing' },
    'no-prune': { type: 'boolean', help: 'remove the snapshots but leave their data for a later prune' },
  },
  async run(ctx) {
    const dry = ctx.args.flags['dry-run'] === true;
    render(
      ctx,
      await runRetention(ctx, await retentionRequest(ctx), { dry, prune: ctx.args.flags['no-prune'] !== true }),
      dry,
    );
    return 0;
  },
};

export const forgetCommand: Command = {
  name: 'forget',
  summary: "remove snapshots by id or by restic's keep-* policy (--prune to free the space)",
  usage:
    'hoard forget ID...\n       hoard forget --keep-last N|--keep-daily N|… [--group-by host,paths] ' +
    '[--dry-run] [--prune]',
  flags: {
    ...RETENTION_FLAGS,
    ...PRUNE_FLAGS,
    ...YES,
    'dry-run': { type: 'boolean', short: 'n', help: 'print what would be removed, change nothing' },
    prune: { type: 'boolean', help: 'prune afterwards' },
  },
  async run(ctx) {
    const dry = ctx.args.flags['dry-run'] === true;
    const prune = ctx.args.flags.prune === true;
    const ids = ctx.args.positionals;
    const req = await retentionRequest(ctx);
    if (ids.length) {
      if (req.gfs || req.olderThanMs !== undefined)
        throw new HoardError('usage', 'give snapshot ids or keep-* rules, not both');
      const r = await forgetBackups(ctx.env, await ctx.project(), {
        ...removeOptions(ctx),
        refs: ids,
        dryRun: dry,
        prune,
        maxUnused: maxUnusedFlag(ctx.args.flags['max-unused']),
      });
      if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', dry_run: dry, removed: r.map((x) => x.id) }));
      else for (const x of r) ctx.out(`${dry ? 'would remove' : 'removed'} snapshot ${x.short_id}`);
      return 0;
    }
    if (!req.gfs && req.olderThanMs === undefined && !req.expired)
      throw new HoardError('usage', 'no policy was given: nothing would be removed', {
        hint: 'give snapshot ids or rules such as --keep-daily 7 --keep-weekly 4',
      });
    render(ctx, await runRetention(ctx, req, { dry, prune }), dry);
    return 0;
  },
};

async function pin(ctx: CommandContext, pinned: boolean): Promise<number> {
  const r = await pinBackup(ctx.env, await ctx.project(), ctx.args.positionals[0] ?? '', pinned, {
    signal: ctx.signal,
  });
  if (ctx.json)
    ctx.out(
      JSON.stringify({ message_type: 'summary', status: 'success', pinned, snapshot_id: r.id, previous_id: r.old }),
    );
  else
    ctx.out(
      `${pinned ? 'pinned' : 'unpinned'} ${r.old.slice(0, 8)}${r.id !== r.old ? ` (its id is now ${r.id.slice(0, 8)}, as after restic tag)` : ' (no change)'}`,
    );
  return 0;
}

export const pinCommand: Command = {
  name: 'pin',
  summary: 'keep a backup whatever the retention rules say',
  usage: 'hoard pin ID',
  flags: {},
  run: (ctx) => pin(ctx, true),
};

export const unpinCommand: Command = {
  name: 'unpin',
  summary: 'let the retention rules decide about a backup again',
  usage: 'hoard unpin ID',
  flags: {},
  run: (ctx) => pin(ctx, false),
};
