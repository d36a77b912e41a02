/** Opening repositories for the front ends: URL → backend, password → key, and locks around work. */
import * as os from 'node:os';
import type { Backend } from '../core/storage/backend.js';
import { openBackend } from '../backends/index.js';
import { type Repository, type RepositoryOptions } from '../core/repository/repository.js';
import { openRepository } from '../core/repository/open.js';
import { acquireLock } from '../core/repository/locks.js';
import { type Env, lockOwner, repositoryUrl, resolvePassword } from './environment.js';

export interface OpenOptions extends RepositoryOptions {
  repo?: string;
  /** Load the index (every command but key/unlock management needs it). */
  index?: boolean;
  signal?: AbortSignal;
}

/** Opens the repository named by flags/env with the resolved password. */
export async function openFromEnv(env: Env, o: OpenOptions = {}): Promise<Repository> {
  const backend: Backend = openBackend(repositoryUrl(env, o.repo));
  const password = await resolvePassword(env);
  const repo = await openRepository(backend, password, { workers: defaultWorkers(), ...o });
  if (o.index !== false) await repo.loadIndex(o.signal);
  return repo;
}

/**
 * Runs `work` holding a lock (shared or exclusive); the lock is released whatever happens.
 * `retryMs` keeps retrying a conflicting lock before failing with kind "locked".
 */
export async function withLock<T>(env: Env, repo: Repository, exclusive: boolean, work: () => Promise<T>, retryMs = 0): Promise<T> {
  const lock = await acquireLock(repo, exclusive, { clock: env.clock, owner: lockOwner(env), retryMs });
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
