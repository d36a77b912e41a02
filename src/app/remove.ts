/**
 * Removing backups, written once for every door: delete one backup, forget chosen ones, clean up
 * by policy (then prune), and pin or unpin. Each opens the repository, takes an exclusive lock
 * (a dry run a shared one), confirms protected environments through the door's `confirm` (the
 * CLI prompts or takes --yes; the library and the API take `confirm: true`), and returns what it
 * did. A pinned backup is never deleted by id; a plan (`dryRun`) changes nothing.
 */
import { type PruneSummary, type Reporter, HoardError, loadVerifications, removeSnapshot } from '../core/index.js';
import { pruneLocked } from './prune.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { withSnapshots } from './repository-access.js';
import { type CleanupPlan, type CleanupRequest, planCleanup, sizeFreed } from './cleanup.js';
import { chooseSnapshot } from './select.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';
import { protectedAmong } from './protection.js';
import { setPinned } from './pin.js';

/**
 * How a door confirms acting in a protected environment: resolves to go on, throws (kind "usage",
 * nothing changed) to stop. `action` reads "delete backup 1a2b3c4d" or "remove 3 backups".
 */
export type Confirm = (environment: string, action: string) => Promise<void>;

/** The library's and the API's confirmation: `confirm: true` goes on, anything else refuses. */
export function confirmFlag(confirmed: boolean | undefined): Confirm {
  return async (environment, action) => {
    if (confirmed) return;
    throw new HoardError(
      'usage',
      `refusing to ${action} in the protected environment ${environment}; nothing was changed`,
      { hint: 'pass confirm: true once the target is checked', context: { confirmation_required: environment } },
    );
  };
}

/** Confirms once per protected environment among the records. */
async function confirmAll(p: Project, confirm: Confirm, records: BackupRecord[], verb: string): Promise<void> {
  for (const { environment, count } of protectedAmong(p, records)) {
    const mine = records.filter((r) => r.environment === environment);
    await confirm(environment, count === 1 ? `${verb} backup ${mine[0].short_id}` : `${verb} ${count} backups`);
  }
}

export interface RemoveOptions {
  confirm: Confirm;
  signal?: AbortSignal;
  report?: Reporter;
}

const pinnedError = (r: BackupRecord, what: string) =>
  new HoardError('usage', `backup ${r.short_id} is pinned; nothing was ${what}`, {
    hint: `unpin it first (hoard unpin ${r.short_id})`,
  });

/** Deletes one backup (no prune); `freed`: what a prune would free now. Kind "usage" for latest or a pinned one. */
export async function deleteBackup(
  env: Env,
  p: Project,
  ref: string,
  o: RemoveOptions,
): Promise<{ backup: BackupRecord; freed: number }> {
  if (!ref || ref === 'latest')
    throw new HoardError('usage', 'delete needs the id or label of one backup', {
      hint: 'see `hoard list` (the full id or a unique prefix)',
    });
  return withSnapshots(
    env,
    p,
    true,
    async (repo, list) => {
      const s = chooseSnapshot(list, { ref }, env.clock.now());
      const backup = toRecord(s);
      if (backup.pinned) throw pinnedError(backup, 'deleted');
      await confirmAll(p, o.confirm, [backup], 'delete');
      const freed = await sizeFreed(repo, list, new Set([s.id]), o.signal);
      await removeSnapshot(repo, s.id);
      return { backup, freed };
    },
    { signal: o.signal },
  );
}

export interface ForgetRequest extends RemoveOptions {
  refs: string[];
  dryRun?: boolean;
  prune?: boolean;
  /** Prune's --max-unused (a share, or bytes). */
  maxUnused?: number | { bytes: number };
}

/** Removes the snapshots `refs` name (restic's `forget ID…`), then prunes when asked; returns them. */
export async function forgetBackups(env: Env, p: Project, req: ForgetRequest): Promise<BackupRecord[]> {
  return withSnapshots(
    env,
    p,
    !req.dryRun,
    async (repo, list) => {
      const picked = req.refs.map((ref) => chooseSnapshot(list, { ref }, env.clock.now()));
      const records = picked.map((e) => toRecord(e));
      const pinned = records.find((x) => x.pinned);
      if (pinned) throw pinnedError(pinned, 'removed');
      if (req.dryRun) return records;
      await confirmAll(p, req.confirm, records, 'remove');
      for (const s of picked) await removeSnapshot(repo, s.id);
      if (req.prune) await pruneLocked(repo, { maxUnused: req.maxUnused, signal: req.signal, report: req.report });
      return records;
    },
    { signal: req.signal },
  );
}

export interface CleanupOptions extends CleanupRequest, RemoveOptions {
  dryRun?: boolean;
  /** Prune after removing (default true). */
  prune?: boolean;
  maxUnused?: number | { bytes: number };
  /** Wait this long for another process's lock (default: env.lockWait). */
  lockWaitMs?: number;
}

export interface CleanupOutcome {
  plan: CleanupPlan;
  dry_run: boolean;
  /** What a prune frees once the planned backups are gone (read before anything was removed). */
  estimate: number;
  /** The prune's summary, when one ran. */
  pruned: PruneSummary | null;
}

/** Plans a cleanup and, unless dry, confirms, removes and (unless prune: false) prunes, under one lock. */
export async function cleanupBackups(env: Env, p: Project, o: CleanupOptions): Promise<CleanupOutcome> {
  const dry = o.dryRun === true;
  return withSnapshots(
    env,
    p,
    !dry,
    async (repo, list) => {
      const plan = planCleanup(list, o, env.clock.now(), await loadVerifications(repo, o.signal, env.clock.now()));
      const estimate = await sizeFreed(repo, list, new Set(plan.remove.map((r) => r.id)), o.signal);
      const out: CleanupOutcome = { plan, dry_run: dry, estimate, pruned: null };
      if (dry || !plan.remove.length) return out;
      await confirmAll(p, o.confirm, plan.remove, 'remove');
      for (const r of plan.remove) await removeSnapshot(repo, r.id);
      if (o.prune === false) return out;
      out.pruned = await pruneLocked(repo, { maxUnused: o.maxUnused, signal: o.signal, report: o.report });
      return out;
    },
    { signal: o.signal, lockWaitMs: o.lockWaitMs },
  );
}

/** Pins or unpins a backup (its id changes, as after `restic tag`); returns the old and the new id. */
export async function pinBackup(
  env: Env,
  p: Project,
  ref: string,
  pinned: boolean,
  o: { signal?: AbortSignal } = {},
): Promise<{ old: string; id: string }> {
  if (!ref)
    throw new HoardError('usage', `${pinned ? 'pin' : 'unpin'} needs a snapshot id`, { hint: 'see `hoard list`' });
  return withSnapshots(
    env,
    p,
    true,
    async (repo, list) => {
      const s = chooseSnapshot(list, { ref }, env.clock.now());
      return { old: s.id, id: await setPinned(repo, s, pinned) };
    },
    { signal: o.signal },
  );
}
