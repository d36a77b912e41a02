/** Prune as a use case: under an exclusive lock, plan, then (unless dry-run) carry the plan out. */
import {
  type PruneOptions,
  type PrunePlan,
  type PruneSummary,
  type Repository,
  executePrune,
  planPrune,
} from '../core/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { withLock, withRepository } from './repository-access.js';

export interface PruneRequest extends PruneOptions {
  dryRun?: boolean;
  /** Keep retrying a conflicting lock this long (ms) before failing with kind "locked" (default env.lockWait). */
  retryLockMs?: number;
  onLockWait?: (holder: string) => void;
}

/** The plan (dry-run) or the summary of a prune. The repository must have its index loaded. */
export async function pruneRepository(
  env: Env,
  repo: Repository,
  req: PruneRequest,
): Promise<PrunePlan | PruneSummary> {
  return withLock(
    env,
    repo,
    true,
    async () => (req.dryRun ? planPrune(repo, req) : pruneLocked(repo, req)),
    req.retryLockMs,
    req.onLockWait,
  );
}

/** Plans and carries out a prune; the caller holds the exclusive lock (forget and cleanup prune under theirs). */
export async function pruneLocked(repo: Repository, o: PruneOptions): Promise<PruneSummary> {
  return executePrune(repo, await planPrune(repo, o), o);
}

/** `hoard prune`: opens the project's repository (with its index) and prunes it. */
export async function pruneProject(env: Env, p: Project, req: PruneRequest): Promise<PrunePlan | PruneSummary> {
  return withRepository(env, { project: p, signal: req.signal }, (repo) => pruneRepository(env, repo, req));
}
