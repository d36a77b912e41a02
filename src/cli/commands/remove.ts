/** `hoard delete ID` and `hoard cleanup`: snapshots removed under an exclusive lock, protected environments confirmed first. */
import { HoardError, type Repository, type SnapshotEntry, listSnapshots, removeSnapshot } from '../../core/index.js';
import { type CleanupPlan, planCleanup, sizeFreed } from '../../app/cleanup.js';
import { chooseSnapshot } from '../../app/select.js';
import { type BackupRecord, toRecord } from '../../app/snapshot-view.js';
import { protectedAmong } from '../../app/protection.js';
import { withLock } from '../../app/repository-access.js';
import type { Command, CommandContext } from '../context.js';
import { daysFlag } from '../args.js';
import { openRepo } from '../repo.js';
import { confirmProtected } from '../prompt.js';
import { paint, size, table, when } from '../render.js';

/** What deleting means for space until prune exists (retention issue). */
const pruneNote = (bytes: number) => `${size(bytes)} of data only they used stays in the repository until a prune (\`restic prune\` works)`;

/** Runs `work` with the snapshot list under a lock, exclusive unless only reading (nobody backs up while snapshots go). */
async function locked<T>(ctx: CommandContext, exclusive: boolean, work: (repo: Repository, list: SnapshotEntry[]) => Promise<T>): Promise<T> {
  const repo = await openRepo(ctx);
  try {
    return await withLock(ctx.env, repo, exclusive, async () => work(repo, (await listSnapshots(repo, ctx.signal)).snapshots));
  } finally {
    await repo.close();
  }
}

/** Confirms once per protected environment among the records. */
async function confirmAll(ctx: CommandContext, records: BackupRecord[], verb: string): Promise<void> {
  for (const { environment, count } of protectedAmong(await ctx.project(), records)) {
    await confirmProtected(ctx, environment, `${verb} ${count} backup${count === 1 ? '' : 's'}`);
  }
}

export const deleteCommand: Command = {
  name: 'delete', summary: 'delete one backup (asks in protected environments)', usage: 'hoard delete ID|LABEL [--yes]',
  flags: { yes: { type: 'boolean', short: 'y', help: 'confirm deleting a backup of a protected environment' } },
  async run(ctx) {
    const ref = ctx.args.positionals[0];
    if (!ref || ref === 'latest') throw new HoardError('usage', 'delete needs the id or label of one backup', { hint: 'see `hoard list` (the full id or a unique prefix)' });
    const gone = await locked(ctx, true, async (repo, list) => {
      const s = chooseSnapshot(list, { ref }, ctx.env.clock.now());
      const r = toRecord(s);
      if (r.pinned) throw new HoardError('usage', `backup ${r.short_id} is pinned; nothing was deleted`, { hint: `unpin it first (hoard unpin ${r.short_id})` });
      await confirmAll(ctx, [r], 'delete');
      const freed = await sizeFreed(repo, list, new Set([s.id]), ctx.signal);
      await removeSnapshot(repo, s.id);
      return { r, freed };
    });
    if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', status: 'success', deleted_count: 1, deleted: [gone.r], total_size_freed: gone.freed, pruned: false }));
    else ctx.out(`deleted backup ${gone.r.short_id} (${gone.r.source ?? gone.r.paths.join(' ')}, ${when(gone.r.created_ms)}); ${pruneNote(gone.freed)}`);
    return 0;
  },
};

function render(ctx: CommandContext, plan: CleanupPlan & { freed: number }, dry: boolean): void {
  const removed = plan.remove;
  if (ctx.json) {
    ctx.out(JSON.stringify({
      message_type: 'summary', status: 'success', dry_run: dry, deleted_count: removed.length, deleted: removed,
      total_size_freed: plan.freed, pruned: false, retention: plan.applied, decisions: plan.decisions.map((d) => ({ id: d.record.id, remove: d.remove, reason: d.reason })),
    }));
    return;
  }
  const c = paint(ctx.env.isTTY, ctx.env.vars);
  if (plan.decisions.length) {
    const rows = plan.decisions.map((d) => [d.record.short_id, when(d.record.created_ms), d.record.kind, d.record.source ?? '', size(d.record.size), d.remove ? c.red('remove') : c.green('keep'), d.reason]);
    for (const l of table(['ID', 'Created', 'Kind', 'Source', 'Size', 'Action', 'Why'], rows, c)) ctx.out(l);
  }
  const n = removed.length;
  if (!n) ctx.out('nothing to clean up');
  else ctx.out(dry ? `dry run: ${n} backup${n === 1 ? '' : 's'} would be removed, ${size(plan.freed)} of data only they use; nothing was changed` : `removed ${n} backup${n === 1 ? '' : 's'}; ${pruneNote(plan.freed)}`);
}

export const cleanupCommand: Command = {
  name: 'cleanup', summary: 'remove expired or old backups, with a plan first (--dry-run)',
  usage: 'hoard cleanup [--expired] [--older-than DAYS] [--source S] [--env E] [--dry-run] [--yes]',
  flags: {
    expired: { type: 'boolean', help: 'remove backups past their expiry (the default)' },
    'older-than': { type: 'string', help: 'remove backups older than DAYS days' },
    source: { type: 'string', help: 'only backups of this source' },
    env: { type: 'string', help: 'only backups of this environment' },
    'dry-run': { type: 'boolean', short: 'n', help: 'print the plan, change nothing' },
    yes: { type: 'boolean', short: 'y', help: 'confirm removing backups of a protected environment' },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const req = { expired: f.expired === true, olderThanDays: daysFlag(f['older-than'], '--older-than'), source: f.source as string | undefined, environment: f.env as string | undefined };
    const dry = f['dry-run'] === true;
    const plan = await locked(ctx, !dry, async (repo, list) => {
      const pl = planCleanup(list, req, ctx.env.clock.now());
      const freed = await sizeFreed(repo, list, new Set(pl.remove.map((r) => r.id)), ctx.signal);
      if (dry || !pl.remove.length) return { ...pl, freed };
      await confirmAll(ctx, pl.remove, 'remove');
      for (const r of pl.remove) await removeSnapshot(repo, r.id);
      return { ...pl, freed };
    });
    render(ctx, plan, dry);
    return 0;
  },
};
