/** The database halves of `backup --db` and `restore` (a snapshot of a database), and their output. */
import * as path from 'node:path';
import { type BackupOptions, HoardError } from '../../core/index.js';
import { identity } from '../../app/environment.js';
import type { DatabaseBackupRequest, DatabaseBackupResult, SnapshotLabels } from '../../app/database-backup.js';
import type { RestoreResult } from '../../app/restore.js';
import { type Connection, type DumpFormat, parseDatabaseUrl } from '../../app/database-backup.js';
import { type FlagSpecs, daysFlag, listFlag, textFlag } from '../args.js';
import { type CommandContext, formatBytes } from '../context.js';
import { VERSION } from '../version.js';
import { entryOf } from '../../config/index.js';

export const LABEL_FLAGS: FlagSpecs = {
  kind: { type: 'string', help: 'why the snapshot exists: daily, weekly, manual (default), pre-migration, …' },
  label: { type: 'string', help: 'a name to find the snapshot by (restore LABEL works)' },
  name: { type: 'string', help: 'the same as --label' },
  reason: { type: 'string', help: 'why it was taken (free text)' },
  description: { type: 'string', help: 'a longer description' },
  ticket: {
    type: 'string',
    help: 'the change this backup precedes (e.g. CHG-1234): kept until `hoard confirm` records who verified it',
  },
  environment: { type: 'string', help: 'dev, staging, production or any name (default $HOARD_ENVIRONMENT)' },
};

export const DB_BACKUP_FLAGS: FlagSpecs = {
  db: { type: 'string', help: 'back up a database: postgres://…, mysql://…, sqlite:PATH, or env:VAR holding the URL' },
  format: { type: 'string', help: 'PostgreSQL dump format: sql (default), custom or directory' },
  all: { type: 'boolean', help: 'with a postgres:// URL: every database of the server, plus roles' },
  jobs: { type: 'string', short: 'j', help: 'parallel jobs for --format directory (default 2)' },
};

/**
 * A database location from a flag: a URL, a SQLite path, or env:VAR (keeps the password out of
 * argv). A URL without a password takes PGPASSWORD / MYSQL_PWD from this shell: the user typed
 * this target (a URL stored in a repository never gets them).
 */
export function connectionFrom(ctx: CommandContext, value: string): Connection {
  let c: Connection;
  if (value.startsWith('env:')) {
    const v = ctx.env.vars[value.slice(4)];
    if (!v)
      throw new HoardError('usage', `${value.slice(4)} is not set`, {
        hint: `export ${value.slice(4)}=postgres://user@host/db (or give the URL)`,
      });
    c = parseDatabaseUrl(v);
  } else {
    c = parseDatabaseUrl(value);
    if (c.password !== undefined)
      process.stderr.write(
        'hoard: warning: a password on the command line is visible to other users (ps); put the URL in ' +
          'a variable and pass env:VAR\n',
      );
  }
  if (c.engine === 'sqlite' && c.path) c.path = path.resolve(ctx.env.cwd, c.path); // stored absolute: restores find it from anywhere
  const shell =
    c.engine === 'postgres' ? ctx.env.vars.PGPASSWORD : c.engine === 'mysql' ? ctx.env.vars.MYSQL_PWD : undefined;
  if (c.password === undefined && shell) c.password = shell;
  return c;
}

/** --retention DAYS as a number; kind "usage" otherwise. */
export function retentionFlag(v: unknown): number | undefined {
  return daysFlag(v, '--retention', 1);
}

/** --ticket: a short one-line reference (kind "usage" otherwise). */
export function ticketFlag(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[^\u0000-\u001f\u007f]{1,200}$/.test(v.trim()))
    throw new HoardError('usage', '--ticket must be one line of at most 200 characters, e.g. CHG-1234');
  return v.trim();
}

/** The snapshot labels given by flags (--retention sets the expiry of restic-style backups). */
export function labelsFrom(ctx: CommandContext): SnapshotLabels {
  const f = ctx.args.flags;
  const days = retentionFlag(f.retention);
  return {
    retentionDays: days ?? null,
    expiresAt: days === undefined ? null : new Date(ctx.env.clock.now() + days * 86_400_000).toISOString(),
    kind: textFlag(ctx.args, 'kind'),
    label: textFlag(ctx.args, 'label') ?? textFlag(ctx.args, 'name'),
    reason: textFlag(ctx.args, 'reason'),
    description: textFlag(ctx.args, 'description'),
    ticket: ticketFlag(textFlag(ctx.args, 'ticket')),
    environment: textFlag(ctx.args, 'environment') ?? ctx.env.vars.HOARD_ENVIRONMENT,
  };
}

function jobs(ctx: CommandContext): number | undefined {
  const j = textFlag(ctx.args, 'jobs');
  if (j === undefined) return undefined;
  if (!/^[1-9]\d?$/.test(j)) throw new HoardError('usage', `--jobs must be a number from 1 to 99, not ${j}`);
  return Number(j);
}

export function backupOptions(ctx: CommandContext, extra: Partial<BackupOptions> = {}): BackupOptions {
  const id = identity(ctx.env);
  const f = ctx.args.flags;
  return {
    clock: ctx.env.clock,
    signal: ctx.signal,
    report: ctx.report,
    dryRun: f['dry-run'] === true,
    info: {
      hostname: textFlag(ctx.args, 'host') ?? id.hostname,
      username: id.username,
      uid: id.uid,
      gid: id.gid,
      tags: listFlag(ctx.args, 'tag'),
      programVersion: `hoard ${VERSION}`,
    },
    ...extra,
  };
}

/** The database backup the flags ask for (--db, --format, --jobs, --all and the labels). */
export function databaseRequest(
  ctx: CommandContext,
  labels: SnapshotLabels = labelsFrom(ctx),
): Omit<DatabaseBackupRequest, 'localRepoPath'> {
  const f = ctx.args.flags;
  return {
    ...labels,
    connection: connectionFrom(ctx, textFlag(ctx.args, 'db')!),
    format: f.format as DumpFormat | undefined,
    jobs: jobs(ctx),
    all: f.all === true,
  };
}

export function reportDatabaseBackup(ctx: CommandContext, r: DatabaseBackupResult, dry: boolean): number {
  const h = r.snapshot.hoard as {
    size: { dump_bytes: number; files: { name: string; size: number }[] };
    duration_ms: number;
    kind: string;
  };
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        status: 'success',
        snapshot_id: r.snapshotId ?? null,
        dry_run: dry,
        kind: h.kind,
        filename: h.size.files.map((x) => x.name).join(','),
        files: h.size.files,
        size: h.size.dump_bytes,
        data_added: r.stats.data_added,
        data_added_packed: r.stats.data_added_packed,
        duration: h.duration_ms / 1000,
        timestamp: r.snapshot.time,
        databases: r.facts,
      }),
    );
    return 0;
  }
  for (const fct of r.facts) {
    const rows = fct.tables.reduce((s, t) => s + t.rows, 0);
    const mig = fct.migrations
      .map((m) => `${m.framework} ${m.applied} applied${m.last ? `, last ${m.last}` : ''}`)
      .join('; ');
    ctx.out(
      `${fct.engine} ${fct.database} (${fct.format}, server ${fct.server_version}): ${fct.tables.length} tables, ${rows} rows${mig ? `; migrations: ${mig}` : ''}`,
    );
  }
  ctx.out(
    `dump: ${formatBytes(h.size.dump_bytes)} in ${(h.duration_ms / 1000).toFixed(1)}s; added to the repository: ${formatBytes(r.stats.data_added)} (${formatBytes(r.stats.data_added_packed)} stored)`,
  );
  ctx.out(dry ? 'dry run: nothing was written' : `snapshot ${r.snapshotId!.slice(0, 8)} saved`);
  return 0;
}

export const DB_RESTORE_FLAGS: FlagSpecs = {
  'target-db': { type: 'string', help: 'database snapshots: restore into this database name (created when missing)' },
  database: { type: 'string', help: 'from a server-wide (--all) snapshot: the database to restore' },
  'dry-run': { type: 'boolean', short: 'n', help: 'print what would be restored where, change nothing' },
  yes: {
    type: 'boolean',
    short: 'y',
    aliases: ['confirm'],
    help: 'confirm overwriting data in a protected environment',
  },
  jobs: DB_BACKUP_FLAGS.jobs,
  environment: LABEL_FLAGS.environment,
};

/**
 * --target as the restore use case takes it: a restore target's name or a folder as given; for a
 * database snapshot a connection from a URL, a SQLite path or env:VAR (see connectionFrom).
 */
export async function targetFlag(ctx: CommandContext, isDb: boolean): Promise<string | Connection | undefined> {
  const t = textFlag(ctx.args, 'target');
  if (t === undefined || !isDb || entryOf((await ctx.project()).config.restore_targets, t)) return t;
  return connectionFrom(ctx, t);
}

/** --jobs as a number (1-99), or undefined. */
export function jobsFlag(ctx: CommandContext): number | undefined {
  return jobs(ctx);
}

/** Prints a database restore's outcome (text or --json). */
export function reportDatabaseRestore(ctx: CommandContext, res: RestoreResult): number {
  const r = res.database!;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        status: 'success',
        ...r,
        ...r.plan,
        protected_environment: res.protected_environment,
      }),
    );
    return 0;
  }
  const p = r.plan;
  const verb = r.dry_run ? 'would restore' : 'restored';
  ctx.out(`${verb} ${p.file} of snapshot ${p.snapshot_id.slice(0, 8)} (${p.engine}, ${p.format}) into ${p.target}`);
  const env = res.protected_environment;
  if (r.dry_run)
    ctx.out(
      p.target_exists
        ? `the target holds data: a pre-restore snapshot would be taken first${env ? ` (protected environment ${env}: needs confirmation)` : ''}; nothing was changed`
        : 'the target is empty or missing (it would be created); nothing was changed',
    );
  else if (r.pre_restore_snapshot_id)
    ctx.out(
      `the previous contents are in pre-restore snapshot ${r.pre_restore_snapshot_id.slice(0, 8)} (undo: hoard restore ${r.pre_restore_snapshot_id.slice(0, 8)} --target ${p.target})`,
    );
  return 0;
}
