/** Opening repositories for the front ends: URL → backend, password → key, and locks around work. */
import * as os from 'node:os';
import * as path from 'node:path';
import {
  acquireLock,
  waitForExclusive,
  type Backend,
  fileContent,
  type HeldLock,
  HoardError,
  listLocks,
  listSnapshots,
  openRepository,
  removeLocks,
  type Repository,
  type RepositoryOptions,
  type SnapshotEntry,
  type TreeNode,
} from '../core/index.js';
import { type BackendSettings, openBackend, parseRepositoryUrl } from '../backends/index.js';
import { type RepositorySetting, absoluteLocal } from '../config/index.js';
import { type Env, lockOwner, resolvePassword } from './environment.js';
import { type Project, projectSecret } from './project.js';

export interface OpenOptions extends RepositoryOptions {
  /** The project whose settings name the repository (flag > HOARD_REPOSITORY > hoard.yaml). */
  project: Project;
  /** Load the index, under each lock taken (every command but key/unlock management needs it). */
  index?: boolean;
  signal?: AbortSignal;
}

/** The repository URL in force; kind "usage" when neither flags, environment nor hoard.yaml name one. */
export function repositoryLocation(p: Project): RepositorySetting {
  const r = p.settings.repository?.value;
  if (!r)
    throw new HoardError('usage', 'no repository given', {
      hint: 'run `hoard init` to set up this project, or pass --repo URL / set HOARD_REPOSITORY',
    });
  return r;
}

/**
 * How to reach a repository's storage: its hoard.yaml entry (s3 settings with secrets resolved,
 * rate limits, connections), overridden by --limit-upload/--limit-download; AWS_* from the
 * environment when hoard.yaml gives no keys.
 */
export async function backendSettings(env: Env, p: Project, loc: RepositorySetting): Promise<BackendSettings> {
  const c = loc.config;
  const at = (...k: string[]) => ['repositories', loc.name ?? '', ...k];
  const secret = (v: string | undefined, ...k: string[]) =>
    v === undefined ? Promise.resolve(undefined) : projectSecret(p, v, at(...k));
  const s3 = c?.s3 && {
    region: c.s3.region,
    pathStyle: c.s3.path_style,
    profile: c.s3.profile,
    accessKeyId: await secret(c.s3.access_key_id, 's3', 'access_key_id'),
    secretAccessKey: await secret(c.s3.secret_access_key, 's3', 'secret_access_key'),
    sessionToken: await secret(c.s3.session_token, 's3', 'session_token'),
  };
  const sftp = c?.sftp && {
    user: c.sftp.user,
    port: c.sftp.port,
    hostKey: c.sftp.host_key,
    keyFile: c.sftp.key && path.resolve(p.dir, c.sftp.key),
    knownHostsFile: c.sftp.known_hosts && path.resolve(p.dir, c.sftp.known_hosts),
    passphrase: await secret(c.sftp.key_passphrase, 'sftp', 'key_passphrase'),
    password: await secret(c.sftp.password, 'sftp', 'password'),
  };
  return {
    vars: env.vars,
    s3,
    sftp,
    uploadKiBs: env.limits?.uploadKiBs ?? c?.limit_upload,
    downloadKiBs: env.limits?.downloadKiBs ?? c?.limit_download,
    connections: c?.connections,
    backoffMs: Number(env.vars.HOARD_BACKEND_BACKOFF_MS) || undefined,
  };
}

/** The password of a repository: HOARD_PASSWORD* first, then its `password:` in hoard.yaml, then a prompt (`confirm`: asked twice). */
export function repositoryPassword(env: Env, p: Project, loc: RepositorySetting, confirm = false): Promise<string> {
  const configured =
    loc.password !== undefined && loc.name !== undefined
      ? () => projectSecret(p, loc.password!, ['repositories', loc.name!, 'password'])
      : undefined;
  return resolvePassword(env, { configured, confirm });
}

/**
 * Opens the repository in force with its password: HOARD_PASSWORD* (RESTIC_PASSWORD*) first, then
 * the repository's `password:` reference in hoard.yaml, then a prompt on a TTY.
 */
export async function openFromEnv(env: Env, o: OpenOptions): Promise<Repository> {
  return openAt(env, repositoryLocation(o.project), o);
}

/** The folder of the repository in force when it is on local disk (for the free-space check); undefined otherwise. */
export function localRepositoryPath(p: Project): string | undefined {
  const u = parseRepositoryUrl(repositoryLocation(p).url);
  return u.scheme === 'local' ? u.path : undefined;
}

/** Opens the repository in force, runs `work` with it and closes it whatever happens. */
export async function withRepository<T>(env: Env, o: OpenOptions, work: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openFromEnv(env, o);
  try {
    return await work(repo);
  } finally {
    await repo.close();
  }
}

/** A repository of hoard.yaml by name, or a URL (then its password is HOARD_PASSWORD*'s). */
export function namedRepository(p: Project, ref: string): RepositorySetting {
  const r = p.config.repositories?.[ref];
  if (r && p.loaded) return { name: ref, url: absoluteLocal(r.url, p.loaded.dir), password: r.password, config: r };
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ref) && !ref.includes('.') && p.loaded) {
    throw new HoardError('usage', `no repository ${ref} in ${p.loaded.file}`, {
      hint: `use one of: ${Object.keys(p.config.repositories ?? {}).join(', ') || '(none)'}, or a URL`,
    });
  }
  return { url: ref };
}

/** Opens the repository at `loc` (a hoard.yaml entry or a URL) with its password. */
export async function openAt(env: Env, loc: RepositorySetting, o: OpenOptions): Promise<Repository> {
  const backend: Backend = openBackend(loc.url, await backendSettings(env, o.project, loc));
  const password = await repositoryPassword(env, o.project, loc);
  // the index is read under the lock each command takes (acquireLock), not now: a prune could run in between
  return openRepository(backend, password, {
    workers: defaultWorkers(),
    keyCache: env.keys,
    ...o,
    indexUnderLock: o.index !== false,
  });
}

/** Takes a lock (kind "locked" when one conflicts after env.lockWait); the caller releases it. */
export function holdLock(env: Env, repo: Repository, exclusive: boolean): Promise<HeldLock> {
  return acquireLock(repo, exclusive, {
    clock: env.clock,
    owner: lockOwner(env),
    retryMs: env.lockWait?.ms,
    onWait: env.lockWait?.onWait,
  });
}

/**
 * Runs `work` holding a lock (shared or exclusive); the lock is released whatever happens.
 * `retryMs` (default env.lockWait) keeps retrying a conflicting lock before failing with kind
 * "locked"; `onWait` hears once that it waits.
 */
export async function withLock<T>(
  env: Env,
  repo: Repository,
  exclusive: boolean,
  work: () => Promise<T>,
  retryMs = env.lockWait?.ms ?? 0,
  onWait = env.lockWait?.onWait,
  signal?: AbortSignal,
): Promise<T> {
  const lock = await acquireLock(repo, exclusive, { clock: env.clock, owner: lockOwner(env), retryMs, onWait, signal });
  try {
    return await work();
  } finally {
    await lock.release().catch(() => {});
  }
}

/**
 * Opens the repository in force and runs `work` with its snapshot list, read under a lock (shared or
 * exclusive) that waits `lockWaitMs` (default env.lockWait) for another process's (`onWait` hears once
 * that it waits); the lock is released
 * and the repository closed whatever happens. `index: false` skips the index (listing and metadata).
 * `work` also hears which snapshot files could not be read. `lockFree` (reads of snapshots and
 * records only): no lock is written; the read only waits while an exclusive lock is held.
 */
export async function withSnapshots<T>(
  env: Env,
  p: Project,
  exclusive: boolean,
  work: (repo: Repository, list: SnapshotEntry[], damaged: { id: string; error: string }[]) => Promise<T>,
  o: {
    index?: boolean;
    signal?: AbortSignal;
    lockWaitMs?: number;
    onWait?: (holder: string) => void;
    lockFree?: boolean;
  } = {},
): Promise<T> {
  const retryMs = o.lockWaitMs ?? env.lockWait?.ms ?? 0,
    onWait = o.onWait ?? env.lockWait?.onWait;
  return withRepository(env, { project: p, index: o.index, signal: o.signal }, async (repo) => {
    const listed = async () => {
      const l = await listSnapshots(repo, o.signal);
      return work(repo, l.snapshots, l.damaged);
    };
    if (!o.lockFree || exclusive) return withLock(env, repo, exclusive, listed, retryMs, onWait, o.signal);
    await waitForExclusive(repo, { clock: env.clock, owner: lockOwner(env), retryMs, onWait, signal: o.signal });
    return listed();
  });
}

/** Locks older than this are reported loudly (they may be stopping backups). */
const OLD_LOCK_MS = 60 * 60_000;

/**
 * Before scheduled work: removes locks of dead hoard processes on this host (and locks stale by
 * age, as `hoard unlock` does) and reports locks held longer than an hour.
 */
export async function tidyLocks(env: Env, repo: Repository): Promise<string[]> {
  const out: string[] = [];
  const removed = await removeLocks(repo, { clock: env.clock, owner: lockOwner(env) });
  if (removed.length) out.push(`removed ${removed.length} stale lock(s) left by a dead process`);
  for (const l of await listLocks(repo)) {
    const age = l.lock ? env.clock.now() - Date.parse(l.lock.time.replace(/(\.\d{3})\d+/, '$1')) : NaN;
    if (age > OLD_LOCK_MS)
      out.push(
        `a lock of ${l.lock!.username}@${l.lock!.hostname} (pid ${l.lock!.pid}) has been held for ${Math.round(age / 60_000)} min: backups wait for it; run \`hoard unlock\` if that process is gone`,
      );
  }
  return out;
}

/**
 * Encoder threads: one per core besides the main thread (which reads, chunks and hashes), at least
 * one, at most four. On 2 cores a second encoder only adds its memory: measured with bench/run.ts.
 */
export function defaultWorkers(): number {
  return Math.min(4, Math.max(1, os.availableParallelism() - 1));
}

/** Restore threads (decode, verify and write small files): one per core, at most four. The main thread mostly reads packs. */
export function restoreWorkers(): number {
  return Math.min(4, Math.max(1, os.availableParallelism()));
}

/**
 * One file of a snapshot read in order (dump, artifact download, database restore): blobs decoded
 * on restoreWorkers() threads, 8 ahead, through 3 read-ahead windows. One sequential reader needs
 * no more windows, and the default 8 cost about 20 MB of peak RSS for nothing (a 530 MB dump:
 * 278-309 MB → 262-280 MB, same time).
 */
export function sequentialContent(repo: Repository, node: TreeNode, signal?: AbortSignal): AsyncGenerator<Buffer> {
  repo.enableReadAhead(3);
  repo.enableParallelDecode(restoreWorkers());
  return fileContent(repo, node, signal, 8);
}
