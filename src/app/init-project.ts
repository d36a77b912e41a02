/**
 * The `hoard init` use case once the questions are answered: write hoard.yaml and a generated
 * password (mode 0600, outside the repository), create the local repository, keep .hoard/ out of
 * git, run a first backup of every source and a check. Refuses to overwrite an existing
 * hoard.yaml or password file. A source whose first backup fails is reported, not fatal.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  type BackupOptions,
  type CheckSummary,
  HoardError,
  checkRepository,
  initRepository,
  isHoardError,
  openRepository,
} from '../core/index.js';
import { type NewConfig, renderConfig } from '../config/write.js';
import { createLocalBackend } from '../backends/local/local-backend.js';
import { type Env, identity } from './environment.js';
import { type Project, loadProject } from './project.js';
import {
  backendSettings,
  defaultWorkers,
  repositoryLocation,
  repositoryPassword,
  withLock,
} from './repository-access.js';
import { openBackend } from '../backends/index.js';
import { type SourceBackupResult, backupSource, planBackups } from './source-backup.js';
import { type ArchiveReadiness, archiveReadiness } from './pitr/readiness.js';

export interface InitRequest extends Omit<NewConfig, 'repository' | 'date'> {
  dir: string;
  /** The repository folder, relative to dir (default .hoard/repo). */
  repoPath?: string;
  /** The password file, relative to dir (default .hoard/password). */
  passwordPath?: string;
  /** Run the first backup and check (default true). */
  firstBackup?: boolean;
}

export interface InitResult {
  configFile: string;
  repository: string;
  passwordFile: string;
  createdRepository: boolean;
  gitignored: boolean;
  /** The first backups; `skipped` when the source's URL reference is not set yet (not a failure). */
  backups: {
    source: string;
    ok: boolean;
    skipped?: boolean;
    snapshot_id: string | null;
    size: number | null;
    error?: string;
    hint?: string;
  }[];
  check: Pick<CheckSummary, 'errors' | 'snapshots' | 'packs'> | null;
  /** Whether each PostgreSQL source's server archives WAL, and what to change for point-in-time recovery. */
  archiving: ArchiveReadiness[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Creates the password file (0600) unless it exists; returns the password. */
async function ensurePassword(file: string): Promise<{ password: string; created: boolean }> {
  if (await exists(file)) return { password: (await readFile(file, 'utf8')).replace(/\r?\n$/, ''), created: false };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return { password, created: true };
}

/** Adds `.hoard/` to .gitignore in a git project that does not ignore it yet. */
async function gitignore(dir: string, rel: string): Promise<boolean> {
  if (!(await exists(path.join(dir, '.git')))) return false;
  const file = path.join(dir, '.gitignore');
  const text = await readFile(file, 'utf8').catch(() => '');
  const entry = `${rel.split('/')[0]}/`;
  if (text.split(/\r?\n/).some((l) => l.trim() === entry || l.trim() === entry.slice(0, -1))) return false;
  await appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}# hoard's repository and password\n${entry}\n`);
  return true;
}

/** Writes the project's files and repository, then backs up and checks. */
export async function initProject(
  env: Env,
  req: InitRequest,
  o: Pick<BackupOptions, 'report' | 'signal' | 'info'>,
): Promise<InitResult> {
  const configFile = path.join(req.dir, 'hoard.yaml');
  if (await exists(configFile))
    throw new HoardError('usage', `${configFile} already exists; nothing was changed`, {
      hint: 'edit it, or move it away and run `hoard init` again',
    });
  const repoRel = req.repoPath ?? '.hoard/repo';
  const pwRel = req.passwordPath ?? '.hoard/password';
  const text = renderConfig(
    {
      ...req,
      repository: { url: repoRel, password: `file:${pwRel}` },
      date: new Date(env.clock.now()).toISOString().slice(0, 10),
    },
    configFile,
  );
  const pw = await ensurePassword(path.resolve(req.dir, pwRel));
  const backend = createLocalBackend(path.resolve(req.dir, repoRel));
  const createdRepository = !(await backend.exists());
  const who = identity(env);
  const repo = createdRepository
    ? await initRepository(backend, pw.password, who, { workers: defaultWorkers() })
    : await openRepository(backend, pw.password, { workers: defaultWorkers() });
  await writeFile(configFile, text, { flag: 'wx' });
  const result: InitResult = {
    configFile,
    repository: backend.location,
    passwordFile: path.resolve(req.dir, pwRel),
    createdRepository,
    gitignored: await gitignore(req.dir, repoRel),
    backups: [],
    check: null,
    archiving: [],
  };
  try {
    const project = await loadProject({ ...env, cwd: req.dir }, { config: configFile });
    result.archiving = await archiveReadiness(project);
    if (req.firstBackup === false || !Object.keys(req.sources).length) return result;
    if (!createdRepository) await repo.loadIndex(o.signal);
    for (const t of planBackups(project, { names: [], kind: 'manual' })) {
      try {
        const r: SourceBackupResult = await withLock(env, repo, false, () =>
          backupSource(
            project,
            repo,
            t,
            { reason: 'first backup by hoard init' },
            { clock: env.clock, info: o.info, report: o.report, signal: o.signal },
          ),
        );
        result.backups.push({
          source: t.source,
          ok: true,
          snapshot_id: r.snapshotId ?? null,
          size:
            (r.snapshot.hoard as { size?: { dump_bytes?: number } })?.size?.dump_bytes ?? r.stats.total_bytes_processed,
        });
      } catch (e) {
        if (o.signal?.aborted || !isHoardError(e)) throw e;
        const skipped = e.kind === 'config'; // e.g. a docker-compose database whose URL variable is still to be set
        result.backups.push({
          source: t.source,
          ok: false,
          skipped,
          snapshot_id: null,
          size: null,
          error: e.message,
          hint: e.hint,
        });
      }
    }
    const chk = await withLock(env, repo, false, () => checkRepository(repo, { signal: o.signal }));
    result.check = { errors: chk.errors, snapshots: chk.snapshots, packs: chk.packs };
    return result;
  } finally {
    await repo.close();
  }
}

/**
 * `hoard init` with a repository given (as `restic init` does): creates a bare repository at the
 * project's repository in force (a hoard.yaml entry or a URL), asking for its password twice.
 */
export async function initBareRepository(
  env: Env,
  p: Project,
  o: { version: 1 | 2 },
): Promise<{ id: string; location: string; version: number }> {
  const loc = repositoryLocation(p);
  const backend = openBackend(loc.url, await backendSettings(env, p, loc));
  const password = await repositoryPassword(env, p, loc, true);
  const repo = await initRepository(backend, password, identity(env), { version: o.version });
  try {
    return { id: repo.config.id, location: backend.location, version: repo.version };
  } finally {
    await repo.close();
  }
}
