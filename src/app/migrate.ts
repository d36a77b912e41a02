/**
 * The migrations guard: a `pre-migration` snapshot of each database, then the migration command;
 * when the command fails, each database is restored from its snapshot (or, when so configured,
 * the exact restore command is printed instead). The outcome is recorded on the snapshots.
 */
import { spawn } from 'node:child_process';
import {
  type BackupOptions,
  type Repository,
  type SnapshotEntry,
  HoardError,
  amendSnapshot,
  listSnapshots,
  redact,
} from '../core/index.js';
import { type Connection, describe } from '../databases/index.js';
import { backupDatabase, databaseName } from './database-backup.js';
import { restoreDatabase } from './database-restore.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { withLock, withRepository } from './repository-access.js';

export interface MigrationRequest {
  /** The databases the migration changes, with their hoard.yaml source names when they have one. */
  targets: { connection: Connection; source?: string }[];
  command: string[];
  /** Restore the databases when the command fails (default); false prints the restore commands. */
  restoreOnFailure: boolean;
  label?: string;
  /** The change's ticket, recorded on the pre-migration snapshots (which await `hoard confirm` either way). */
  ticket?: string;
  environment?: string;
}

export interface GuardedDatabase {
  target: string;
  snapshot_id: string;
  restored: boolean;
  pre_restore_snapshot_id: string | null;
  restore_command: string;
}

export interface MigrationOutcome {
  command_exit_code: number;
  outcome: 'succeeded' | 'failed-restored' | 'failed-not-restored';
  finished_at: string;
  command: string;
  databases: GuardedDatabase[];
  /** The pre-migration snapshots as taken (recordMigration rewrites them with the outcome). */
  snapshots: SnapshotEntry[];
}

/** How the migration command is run (the CLI passes one that inherits the terminal). */
export type CommandRunner = (argv: string[], signal?: AbortSignal) => Promise<number>;

/** Runs argv with the terminal's stdio; resolves its exit status (128+n for a signal). */
export const runInherited: CommandRunner = (argv, signal) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', signal });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.name === 'AbortError'
          ? new HoardError('interrupted', 'interrupted')
          : new HoardError('usage', `cannot run ${argv[0]}: ${e.code === 'ENOENT' ? 'command not found' : e.message}`, {
              hint: 'check the command after --; the databases were not changed',
            }),
      ),
    );
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
  });

/** Snapshot, run, and on failure restore (under a shared lock); then call recordMigration. */
export async function guardMigration(
  repo: Repository,
  req: MigrationRequest,
  o: BackupOptions,
  run: CommandRunner,
): Promise<MigrationOutcome> {
  if (!req.command.length)
    throw new HoardError('usage', 'migrate needs a command after --', {
      hint: 'e.g. hoard migrate --db env:DATABASE_URL -- npx knex migrate:latest',
    });
  if (!req.targets.length)
    throw new HoardError('usage', 'migrate needs at least one database', {
      hint: 'give --db URL, --source NAME, or define database sources in hoard.yaml',
    });
  // stored in the snapshots' reason and migration record: no password, wherever it stands in the command
  const shown = redact(req.command.join(' '));
  const taken: { c: Connection; entry: SnapshotEntry }[] = [];
  for (const { connection: c, source } of req.targets) {
    const r = await backupDatabase(
      repo,
      {
        connection: c,
        kind: 'pre-migration',
        reason: `before: ${shown}`,
        label: req.label,
        ticket: req.ticket,
        environment: req.environment,
        source: source ?? databaseName(c),
      },
      o,
    );
    taken.push({ c, entry: { id: r.snapshotId!, snapshot: r.snapshot } as SnapshotEntry });
  }
  const code = await run(req.command, o.signal);
  const databases: GuardedDatabase[] = [];
  for (const { c, entry } of taken) {
    const g: GuardedDatabase = {
      target: describe(c),
      snapshot_id: entry.id,
      restored: false,
      pre_restore_snapshot_id: null,
      restore_command: `hoard restore ${entry.id.slice(0, 8)} --target ${describe(c)}`,
    };
    if (code !== 0 && req.restoreOnFailure) {
      const r = await restoreDatabase(repo, { snapshot: entry, target: c, confirmed: true }, o);
      g.restored = true;
      g.pre_restore_snapshot_id = r.pre_restore_snapshot_id;
    }
    databases.push(g);
  }
  const outcome: MigrationOutcome['outcome'] =
    code === 0 ? 'succeeded' : req.restoreOnFailure ? 'failed-restored' : 'failed-not-restored';
  const finished = new Date(o.clock.now()).toISOString();
  return {
    command_exit_code: code,
    outcome,
    finished_at: finished,
    command: shown,
    databases,
    snapshots: taken.map((t) => t.entry),
  };
}

/** Records the outcome on each pre-migration snapshot (rewrites them; needs an exclusive lock). */
export async function recordMigration(repo: Repository, m: MigrationOutcome): Promise<void> {
  for (const [i, entry] of m.snapshots.entries()) {
    const d = m.databases[i];
    const id = await amendSnapshot(repo, entry, {
      migration: {
        command: m.command,
        exit_code: m.command_exit_code,
        outcome: m.outcome,
        finished_at: m.finished_at,
        restored: d.restored,
      },
    });
    d.restore_command = d.restore_command.replace(d.snapshot_id.slice(0, 8), id.slice(0, 8));
    d.snapshot_id = id;
  }
}

/**
 * `hoard migrate` as one use case: opens the project's repository, guards the migration under a
 * shared lock, then records its outcome on the snapshots under an exclusive one (waiting up to 30 s).
 */
export function migrateProject(
  env: Env,
  p: Project,
  req: MigrationRequest,
  o: BackupOptions,
  run: CommandRunner,
): Promise<MigrationOutcome> {
  return withRepository(env, { project: p, signal: o.signal }, async (repo) => {
    const out = await withLock(env, repo, false, async () => {
      await listSnapshots(repo, o.signal);
      return guardMigration(repo, req, o, run);
    });
    await withLock(env, repo, true, () => recordMigration(repo, out), 30_000);
    return out;
  });
}
