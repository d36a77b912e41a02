import { fstatSync } from 'node:fs';
import { type BackupSummary, HoardError, readAhead } from '../../core/index.js';
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { identity } from '../../app/environment.js';
import { type AdhocInput, type AdhocOptions, backupAdhoc, backupDatabaseAdhoc } from '../../app/adhoc-backup.js';
import { type Command, type CommandContext, formatBytes } from '../context.js';
import { compressionFlag, listFlag, textFlag } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { DB_BACKUP_FLAGS, LABEL_FLAGS, databaseRequest, labelsFrom, reportDatabaseBackup } from './database.js';
import { labelMetadata, labelTags } from '../../app/database-backup.js';
import { VERSION } from '../version.js';
import { runProjectBackup } from './backup-project.js';

async function excludes(ctx: CommandContext): Promise<string[]> {
  const out = [...(listFlag(ctx.args, 'exclude') ?? [])];
  for (const f of listFlag(ctx.args, 'exclude-file') ?? []) {
    try {
      out.push(...(await readFile(f, 'utf8')).split('\n'));
    } catch (e) {
      throw new HoardError('usage', `cannot read exclude file ${f}: ${(e as NodeJS.ErrnoException).code}`, {
        hint: 'check the --exclude-file path',
      });
    }
  }
  return out;
}

export const backupCommand: Command = {
  name: 'backup',
  summary: "back up hoard.yaml's sources (or jobs, environments), or paths, a stream or a database",
  usage:
    'hoard backup [SOURCE|JOB|ENVIRONMENT...] [--label L] [--reason R] [--retention DAYS] [--kind K]  ' +
    ' (hoard.yaml)\n       hoard backup [flags] PATH...\n       hoard backup --db URL|env:VAR [--format ' +
    'sql|custom|directory] [--all]\n       hoard backup --stdin --stdin-filename NAME\n       hoard ' +
    'backup --stdin-from-command [--stdin-filename NAME] -- CMD ARGS...',
  flags: {
    ...DB_BACKUP_FLAGS,
    ...LABEL_FLAGS,
    exclude: { type: 'list', short: 'e', help: 'exclude paths matching the pattern (repeatable)' },
    'exclude-file': { type: 'list', help: 'read exclude patterns from a file (repeatable)' },
    stdin: { type: 'boolean', help: 'back up standard input as one file' },
    'stdin-filename': { type: 'string', help: 'file name for --stdin / --stdin-from-command (default stdin)' },
    'stdin-from-command': { type: 'boolean', help: 'back up the output of the command after --' },
    tag: { type: 'list', help: 'add a tag (repeatable)' },
    host: { type: 'string', help: 'hostname to record (default: this host)' },
    'dry-run': { type: 'boolean', short: 'n', help: 'do everything but write to the repository' },
    'with-atime': { type: 'boolean', help: "store files' access times (default: as restic, the modification time)" },
    retention: {
      type: 'string',
      help: "keep this snapshot for DAYS days (default: the job's, else the environment's)",
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    if (await fromProject(ctx)) return runProjectBackup(ctx);
    const id = identity(ctx.env);
    const fromCmd = f['stdin-from-command'] === true;
    if (fromCmd && ctx.args.rest.length === 0)
      throw new HoardError('usage', '--stdin-from-command needs a command after --', {
        hint: 'e.g. hoard backup --stdin-from-command -- pg_dump mydb',
      });
    if ((f.stdin || fromCmd) && ctx.args.positionals.length)
      throw new HoardError('usage', 'paths cannot be combined with --stdin', {
        hint: 'back up either a stream or paths',
      });
    if (f.db !== undefined && (f.stdin || fromCmd || ctx.args.positionals.length))
      throw new HoardError('usage', '--db cannot be combined with paths or --stdin', {
        hint: 'back up a database and files in two runs',
      });
    if (f.db === undefined && (f.format !== undefined || f.all))
      throw new HoardError('usage', '--format and --all need --db URL');
    const labels = labelsFrom(ctx);
    const stream = f.stdin || fromCmd;
    const o: AdhocOptions = {
      clock: ctx.env.clock,
      signal: ctx.signal,
      report: ctx.report,
      dryRun: f['dry-run'] === true,
      withAtime: f['with-atime'] === true,
      compression: compressionFlag(f.compression),
      info: {
        hostname: textFlag(ctx.args, 'host') ?? id.hostname,
        username: id.username,
        uid: id.uid,
        gid: id.gid,
        tags: [...(listFlag(ctx.args, 'tag') ?? []), ...(f.db === undefined ? labelTags(labels) : [])],
        programVersion: `hoard ${VERSION}`,
        ...(f.db === undefined ? { hoard: labelMetadata(labels, stream ? 'stream' : 'files') } : {}),
      },
    };
    if (f.db !== undefined)
      return reportDatabaseBackup(
        ctx,
        await backupDatabaseAdhoc(ctx.env, await ctx.project(), databaseRequest(ctx, labels), o),
        o.dryRun === true,
      );
    const filename = textFlag(ctx.args, 'stdin-filename') ?? 'stdin';
    const input: AdhocInput = fromCmd
      ? { command: ctx.args.rest, filename }
      : f.stdin
        ? { stream: stdinStream(), filename }
        : { paths: ctx.args.positionals, cwd: ctx.env.cwd, excludes: await excludes(ctx) };
    return report(ctx, await backupAdhoc(ctx.env, await ctx.project(), input, o), o.dryRun === true);
  },
};

/**
 * True when the positionals name hoard.yaml's sources, jobs or environments (or there are none and a
 * hoard.yaml exists); false for restic-style path, stream and --db backups.
 */
async function fromProject(ctx: CommandContext): Promise<boolean> {
  const f = ctx.args.flags;
  if (f.db !== undefined || f.stdin || f['stdin-from-command']) return false;
  const p = await ctx.project();
  const pos = ctx.args.positionals;
  if (!pos.length) return true; // with no hoard.yaml, planBackups explains what to do
  if (!p.loaded) return false;
  const c = p.config;
  const names = new Set([
    ...Object.keys(c.sources ?? {}),
    ...Object.keys(c.jobs ?? {}),
    ...Object.values(c.sources ?? {}).map((s) => s.environment ?? c.environment ?? ''),
  ]);
  if (pos.some((x) => names.has(x))) return true;
  return !(
    await Promise.all(
      pos.map((x) =>
        stat(path.resolve(ctx.env.cwd, x)).then(
          () => true,
          () => false,
        ),
      ),
    )
  ).every(Boolean);
}

/** Standard input: 1 MiB reads running ahead of the chunker from a regular file; the (non-blocking-safe) process.stdin otherwise. */
function stdinStream(): AsyncIterable<Buffer> {
  return fstatSync(0).isFile() ? readAhead(0) : process.stdin;
}

function report(ctx: CommandContext, s: BackupSummary, dry: boolean): number {
  const code = s.stats.errors.length ? EXIT.partial : 0;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        snapshot_id: s.snapshotId ?? null,
        dry_run: dry,
        ...s.stats,
        errors: s.stats.errors,
        total_duration: s.durationMs / 1000,
      }),
    );
    return code;
  }
  const st = s.stats;
  ctx.out(`Files: ${st.files_new} new, ${st.files_changed} changed, ${st.files_unmodified} unmodified`);
  ctx.out(`Dirs:  ${st.dirs_new} new, ${st.dirs_changed} changed, ${st.dirs_unmodified} unmodified`);
  ctx.out(`Added to the repository: ${formatBytes(st.data_added)} (${formatBytes(st.data_added_packed)} stored)`);
  ctx.out(
    `processed ${st.total_files_processed} files, ${formatBytes(st.total_bytes_processed)} in ${(s.durationMs / 1000).toFixed(1)}s`,
  );
  if (st.errors.length)
    ctx.out(`${st.errors.length} file(s) could not be read and are missing from the snapshot (see warnings)`);
  ctx.out(dry ? 'dry run: nothing was written' : `snapshot ${s.snapshotId!.slice(0, 8)} saved`);
  return code;
}
