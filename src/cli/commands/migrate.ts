/** `hoard migrate`: pre-migration snapshots, the migration command, and a restore if it fails. */
import { listFlag } from '../args.js';
import { HoardError } from '../../core/index.js';
import { type MigrationRequest, migrateProject, runInherited } from '../../app/migrate.js';
import { databaseSources, sourceConnection } from '../../app/source-restore.js';
import type { Command, CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { backupOptions, connectionFrom, labelsFrom } from './database.js';

/** --db URLs, --source names, or (neither) every database source of hoard.yaml. */
async function migrationTargets(ctx: CommandContext): Promise<MigrationRequest['targets']> {
  const urls = (listFlag(ctx.args, 'db') ?? []).map((d) => ({ connection: connectionFrom(ctx, d) }));
  let names = listFlag(ctx.args, 'source') ?? [];
  const p = await ctx.project();
  if (!urls.length && !names.length) names = databaseSources(p);
  const named = [];
  for (const source of names) named.push({ connection: await sourceConnection(p, source), source });
  return [...urls, ...named];
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'snapshot databases, run a migration, restore them if it fails',
  usage:
    'hoard migrate [--db URL|env:VAR]... [--source NAME]... [--no-restore] -- CMD ARGS...\n       ' +
    '(neither --db nor --source: every database source of hoard.yaml)',
  flags: {
    db: { type: 'list', help: 'a database the migration changes (repeatable): URL, sqlite:PATH or env:VAR' },
    source: { type: 'list', help: 'a database source of hoard.yaml the migration changes (repeatable)' },
    'no-restore': { type: 'boolean', help: 'when the command fails, print the restore command instead of restoring' },
    label: { type: 'string', help: 'label for the pre-migration snapshots' },
    ticket: { type: 'string', help: 'the change ticket (e.g. CHG-1234), recorded on the pre-migration snapshots' },
    environment: { type: 'string', help: 'dev, staging, production or any name (default $HOARD_ENVIRONMENT)' },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    if (!ctx.args.rest.length)
      throw new HoardError('usage', 'migrate needs a command after --', {
        hint: 'e.g. hoard migrate --db env:DATABASE_URL -- npx knex migrate:latest',
      });
    const targets = await migrationTargets(ctx);
    const labels = labelsFrom(ctx);
    const out = await migrateProject(
      ctx.env,
      await ctx.project(),
      {
        targets,
        command: ctx.args.rest,
        restoreOnFailure: f['no-restore'] !== true,
        label: labels.label,
        ticket: labels.ticket,
        environment: labels.environment,
      },
      backupOptions(ctx, { dryRun: false }),
      runInherited,
    );
    const { snapshots: _s, ...shown } = out;
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'summary',
          status: out.outcome === 'succeeded' ? 'success' : 'failed',
          ...shown,
        }),
      );
    else {
      for (const d of out.databases) ctx.out(`pre-migration snapshot ${d.snapshot_id.slice(0, 8)} of ${d.target}`);
      if (out.outcome === 'succeeded') ctx.out('the migration succeeded');
      else if (out.outcome === 'failed-restored') {
        ctx.out(
          `the migration failed (exit ${out.command_exit_code}); the databases were restored to their pre-migration state`,
        );
        for (const d of out.databases)
          if (d.pre_restore_snapshot_id)
            ctx.out(`  the failed state of ${d.target} is kept in snapshot ${d.pre_restore_snapshot_id.slice(0, 8)}`);
      } else {
        ctx.out(`the migration failed (exit ${out.command_exit_code}); nothing was restored. To go back:`);
        for (const d of out.databases) ctx.out(`  ${d.restore_command}`);
      }
    }
    return out.outcome === 'succeeded' ? 0 : EXIT.failure;
  },
};
