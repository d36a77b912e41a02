/** Opening repositories for the front ends: URL → backend, password → key, and locks around work. */
import * as os from 'node:os';
import type { Backend } from '../core/storage/backend.js';
import { openBackend } from '../backends/index.js';
import { type Repository, type RepositoryOptions } from '../core/repository/repository.js';
import { openRepository } from '../core/repository/open.js';
import { type HeldLock, acquireLock } from '../core/repository/locks.js';
import { HoardError } from '../core/index.js';
import { type Env, lockOwner, resolvePassword } from './environment.js';
import { type Project, projectSecret } from './project.js';

export interface OpenOptions extends RepositoryOptions {
  /** The project whose settings name the repository (flag > HOARD_REPOSITORY > hoard.yaml). */
  project: Project;
  /** Load the index (every command but key/unlock management needs it). */
  index?: boolean;
  signal?: AbortSignal;
}

/** The repository URL in force; kind "usage" when neither flags, environment nor hoard.yaml name one. */
export function repositoryLocation(p: Project): { url: string; password?: string; name?: string } {
  const r = p.settings.repository?.value;
  if (!r) throw new HoardError('usage', 'no repository given', { hint: 'run `hoard init` to set up this project, or pass --repo URL / set HOARD_REPOSITORY' });
  return r;
}

/**
 * Opens the repository in force with its password: HOARD_PASSWORD* (RESTIC_PASSWORD*) first, then
 * the repository's `password:` reference in hoard.yaml, then a prompt on a TTY.
 */
export async function openFromEnv(env: Env, o: OpenOptions): Promise<Repository> {
  const loc = repositoryLocation(o.project);
  const backend: Backend = openBackend(loc.url);
  const configured = loc.password !== undefined && loc.name !== undefined
    ? () => projectSecret(o.project, loc.password!, ['repositories', loc.name!, 'password']) : undefined;
  const password = await resolvePassword(env, { configured });
  const repo = await openRepository(backend, password, { workers: defaultWorkers(), keyCache: env.keys, ...o });
  if (o.index !== false) await repo.loadIndex(o.signal);
  return repo;
}

/** Takes a lock now (kind "locked" when one conflicts); the caller releases it. */
export function holdLock(env: Env, repo: Repository, exclusive: boolean): Promise<HeldLock> {
  return acquireLock(repo, exclusive, { clock: env.clock, owner: lockOwner(env) });
}

/**
 * Runs `work` holding a lock (shared or exclusive); the lock is released whatever happens.
 * `retryMs` keeps retrying a conflicting lock before failing with kind "locked"; `onWait` hears once that it waits.
 */
export async function withLock<T>(env: Env, repo: Repository, exclusive: boolean, work: () => Promise<T>, retryMs = 0, onWait?: (holder: string) => void, signal?: AbortSignal): Promise<T> {
  const lock = await acquireLock(repo, exclusive, { clock: env.clock, owner: lockOwner(env), retryMs, onWait, signal });
  try {
    return await work();
  } finally {
    await lock.release().catch(() => {});
  }
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
