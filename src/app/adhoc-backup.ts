/**
 * restic-style backups that need no hoard.yaml: paths, a stream (standard input or a command's
 * output) or a database URL, into the repository in force. Each opens the repository (with the
 * compression asked), reads the snapshot history under a shared lock for the parent, backs up and
 * closes the repository whatever happens. The door builds the snapshot's metadata (`o.info`).
 */
import {
  backupFiles,
  type BackupOptions,
  backupStream,
  type BackupSummary,
  type CompressionMode,
  listSnapshots,
} from '../core/index.js';
import { runForStream } from './command-stream.js';
import { backupDatabase, type DatabaseBackupRequest, type DatabaseBackupResult } from './database-backup.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { localRepositoryPath, withLock, withRepository } from './repository-access.js';

/** What to back up: paths (relative to `cwd`), a byte stream, or the output of a command. */
export type AdhocInput =
  | { paths: string[]; cwd: string; excludes?: string[] }
  | { stream: AsyncIterable<Buffer>; filename: string }
  | { command: string[]; filename: string };

export interface AdhocOptions extends Omit<BackupOptions, 'history'> {
  compression?: CompressionMode;
}

/** Backs up paths or a stream; the summary (no snapshot on a dry run). */
export function backupAdhoc(env: Env, p: Project, input: AdhocInput, o: AdhocOptions): Promise<BackupSummary> {
  return withRepository(env, { project: p, compression: o.compression, signal: o.signal }, (repo) =>
    withLock(env, repo, false, async () => {
      const opts: BackupOptions = { ...o, history: (await listSnapshots(repo, o.signal)).snapshots };
      if ('paths' in input)
        return backupFiles(repo, input.paths, { ...opts, cwd: input.cwd, excludes: input.excludes });
      if ('stream' in input) return backupStream(repo, { stream: input.stream, filename: input.filename }, opts);
      const run = runForStream(input.command, o.signal);
      return backupStream(repo, { stream: run.stdout, filename: input.filename, done: run.done }, opts);
    }),
  );
}

/** Backs up one database (or a server's, with `all`) given by its connection; the free space of a local repository is checked first. */
export function backupDatabaseAdhoc(
  env: Env,
  p: Project,
  req: Omit<DatabaseBackupRequest, 'localRepoPath'>,
  o: AdhocOptions,
): Promise<DatabaseBackupResult> {
  return withRepository(env, { project: p, compression: o.compression, signal: o.signal }, (repo) =>
    withLock(env, repo, false, () => backupDatabase(repo, { ...req, localRepoPath: localRepositoryPath(p) }, o)),
  );
}
