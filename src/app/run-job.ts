/**
 * The scheduled tasks as use cases: a job's backup (hooks around it, verify.after_backup after it),
 * the scheduled read-back and drill, and the scheduled cleanup. Each opens the repository itself,
 * takes the locks it needs and returns an outcome; none throws for a failed run (the failure is the
 * outcome), only for interruption.
 */
import {
  type BackupOptions, type Repository, type Reporter, HoardError, executePrune, isHoardError, listLocks, listSnapshots, loadVerifications, planPrune, redact, removeLocks, removeSnapshot,
} from '../core/index.js';
import { lockOwner } from './environment.js';
import { parseDuration, referencedVariables } from '../config/index.js';
import type { Env } from './environment.js';
import { type HookOutcome, commands, runHook } from './hooks.js';
import type { Project } from './project.js';
import { openFromEnv, withLock } from './repository-access.js';
import { backupSource, newRunId, planBackups } from './source-backup.js';
import { verifySnapshots } from './verify.js';
import { planCleanup } from './cleanup.js';
import { databaseSources } from './source-restore.js';
import { copyDestinations, copyToDestinations } from './copy.js';

export interface TaskOutcome {
  result: 'succeeded' | 'failed';
  snapshots: string[];
  bytes: number;
  error: string | null;
  hooks: HookOutcome[];
  /** Things to report loudly: stale locks cleared, locks held for too long, failed copies. */
  warnings?: string[];
  /** Copies to the job's other destinations (3-2-1); a failed copy does not fail the backup. */
  copies?: { destination: string; ok: boolean; copied: number; bytes: number; error: string | null }[];
}

export interface TaskOptions {
  signal?: AbortSignal;
  report?: Reporter;
  info: BackupOptions['info'];
  /** What started the run: schedule, catch-up, on-change, retry, manual. */
  trigger: string;
  isProcessAlive(pid: number): boolean;
}

/** A failure as the outcome records it (hooks, run history, notifications): redacted. */
const message = (e: unknown) => redact(isHoardError(e) ? e.message : (e as Error).message ?? String(e));

/** Scheduled work waits this long for another run's lock (a cleanup's prune, a backup) before failing. */
const LOCK_WAIT_MS = 10 * 60_000;

/** Locks older than this are reported loudly (they may be stopping backups). */
const OLD_LOCK_MS = 60 * 60_000;

/**
 * Before scheduled work: removes locks of dead hoard processes on this host (and locks stale by
 * age, as `hoard unlock` does) and reports locks held longer than an hour.
 */
async function tidyLocks(env: Env, repo: Repository): Promise<string[]> {
  const out: string[] = [];
  const removed = await removeLocks(repo, { clock: env.clock, owner: lockOwner(env) });
  if (removed.length) out.push(`removed ${removed.length} stale lock(s) left by a dead process`);
  for (const l of await listLocks(repo)) {
    const age = l.lock ? env.clock.now() - Date.parse(l.lock.time.replace(/(\.\d{3})\d+/, '$1')) : NaN;
    if (age > OLD_LOCK_MS) out.push(`a lock of ${l.lock!.username}@${l.lock!.hostname} (pid ${l.lock!.pid}) has been held for ${Math.round(age / 60_000)} min: backups wait for it; run \`hoard unlock\` if that process is gone`);
  }
  return out;
}

/** Runs a job's sources, one snapshot each, with its hooks; after_backup verification as configured. */
export async function runBackupJob(p: Project, env: Env, job: string, o: TaskOptions): Promise<TaskOutcome> {
  const cfg = p.config.jobs?.[job];
  if (!cfg) throw new HoardError('config', `no job ${job} in hoard.yaml`);
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  const timeoutMs = parseDuration(cfg.hooks?.timeout ?? '') ?? 300_000;
  const hidden = referencedVariables(p.config);
  const hook = async (cmds: string[], vars: Record<string, string>) => {
    for (const c of cmds) {
      const h = await runHook(c, { cwd: p.dir, vars: { HOARD_JOB: job, HOARD_TRIGGER: o.trigger, ...vars }, timeoutMs, baseEnv: env.vars, hidden, signal: o.signal });
      if (o.signal?.aborted) throw new HoardError('interrupted', 'interrupted');
      out.hooks.push(h);
      if (!h.ok) return h;
    }
    return undefined;
  };
  const failedHook = await hook(commands(cfg.hooks?.before), { HOARD_RESULT: 'pending' });
  if (failedHook) {
    out.result = 'failed';
    out.error = `the before hook ${failedHook.timedOut ? `timed out and was killed after ${timeoutMs / 1000} s` : `failed (exit ${failedHook.code})`}: ${failedHook.command}`;
  } else {
    try {
      const repo = await openFromEnv(env, { project: p, signal: o.signal });
      try {
        out.warnings = await tidyLocks(env, repo);
        const run = newRunId(env.clock.now());
        for (const t of planBackups(p, { names: [job] })) {
          try {
            const r = await withLock(env, repo, false, () => backupSource(p, repo, t, { run, reason: `${o.trigger} run of job ${job}` }, { clock: env.clock, info: o.info, signal: o.signal, report: o.report }), LOCK_WAIT_MS, undefined, o.signal);
            if (r.snapshotId) out.snapshots.push(r.snapshotId);
            out.bytes += r.stats.data_added;
            const after = p.config.verify?.after_backup;
            if (r.snapshotId && after && after !== 'none') {
              const [v] = await withLock(env, repo, false, () => verifySnapshots(p, repo, { ref: r.snapshotId, level: after }, { clock: env.clock, info: o.info, signal: o.signal, isProcessAlive: o.isProcessAlive }), LOCK_WAIT_MS, undefined, o.signal);
              if (!v.ok) throw new HoardError('verify', `snapshot ${r.snapshotId.slice(0, 8)} of ${t.source} failed its ${after} verification: ${v.message}`);
            }
          } catch (e) {
            if (o.signal?.aborted) throw e;
            out.result = 'failed';
            out.error ??= `${t.source}: ${message(e)}`;
          }
        }
      } finally {
        await repo.close();
      }
      const dests = copyDestinations(p, job);
      if (dests.length && out.snapshots.length) {
        const c = await copyToDestinations(env, p, dests, out.snapshots, { signal: o.signal });
        out.copies = [
          ...c.ok.map((x) => ({ destination: x.destination, ok: true, copied: x.copied.length, bytes: x.bytes, error: null })),
          ...c.failed.map((x) => ({ destination: x.destination, ok: false, copied: 0, bytes: 0, error: message(x.error) })),
        ];
        for (const f of c.failed) (out.warnings ??= []).push(`the copy to ${f.destination} failed (the backup itself is kept): ${message(f.error)}`);
      }
    } catch (e) {
      if (o.signal?.aborted) throw e;
      out.result = 'failed';
      out.error ??= message(e);
    }
  }
  const vars = { HOARD_RESULT: out.result, HOARD_SNAPSHOT_IDS: out.snapshots.join(' '), HOARD_ERROR: out.error ?? '' };
  await hook(commands(out.result === 'succeeded' ? cfg.hooks?.after : cfg.hooks?.on_failure), vars);
  return out;
}

/** The scheduled read-back (a share of every snapshot) or drill (the newest backup of each drilled source). */
export async function runVerifyTask(p: Project, env: Env, level: 'read-back' | 'drill', o: TaskOptions): Promise<TaskOutcome> {
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  const repo = await openFromEnv(env, { project: p, signal: o.signal });
  try {
    const subset = level === 'read-back' && p.config.verify?.read_back?.subset ? Number(p.config.verify.read_back.subset.replace('%', '')) / 100 : undefined;
    const targets = level === 'read-back' ? [{ all: true }] : (p.config.verify?.drill?.sources ?? databaseSources(p)).map((source) => ({ latest: true, source }));
    for (const t of targets) {
      try {
        const results = await withLock(env, repo, false, () => verifySnapshots(p, repo, { ...t, level, subset, drill: { sql: p.config.verify?.drill?.sql } }, { clock: env.clock, info: o.info, signal: o.signal, isProcessAlive: o.isProcessAlive }), LOCK_WAIT_MS, undefined, o.signal);
        for (const r of results) {
          out.snapshots.push(r.backup.id);
          if (!r.ok) { out.result = 'failed'; out.error ??= `${r.backup.short_id}: ${r.message}`; }
        }
      } catch (e) {
        if (o.signal?.aborted) throw e;
        out.result = 'failed';
        out.error ??= message(e);
      }
    }
  } finally {
    await repo.close();
  }
  return out;
}

/** The scheduled cleanup: expired backups removed by the retention policy, then prune. */
export async function runCleanupTask(p: Project, env: Env, o: TaskOptions): Promise<TaskOutcome> {
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  const repo = await openFromEnv(env, { project: p, signal: o.signal });
  try {
    await withLock(env, repo, true, async () => {
      const list = (await listSnapshots(repo, o.signal)).snapshots;
      const plan = planCleanup(list, { expired: true, allowEmpty: true }, env.clock.now(), await loadVerifications(repo, o.signal));
      for (const r of plan.remove) {
        await removeSnapshot(repo, r.id);
        out.snapshots.push(r.id);
      }
      if (plan.remove.length) out.bytes = (await executePrune(repo, await planPrune(repo, { signal: o.signal }), { signal: o.signal })).freedActual;
    }, LOCK_WAIT_MS, undefined, o.signal);
  } catch (e) {
    if (o.signal?.aborted) throw e;
    out.result = 'failed';
    out.error = message(e);
  } finally {
    await repo.close();
  }
  return out;
}
