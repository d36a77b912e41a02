/**
 * The scheduled tasks as use cases: a job's backup (hooks around it, verify.after_backup after it),
 * the scheduled read-back and drill, the scheduled cleanup and point-in-time sources' base backups. Each opens the repository itself,
 * takes the locks it needs and returns an outcome; none throws for a failed run (the failure is the
 * outcome), only for interruption.
 */
import { type BackupOptions, type Reporter, HoardError, isHoardError, redact } from '../core/index.js';
import { parseDuration, referencedVariables } from '../config/index.js';
import type { Env } from './environment.js';
import { type HookOutcome, commands, runHook } from './hooks.js';
import type { Project } from './project.js';
import { backupProject, verificationProblem } from './project-backup.js';
import { verifyBackups } from './verify.js';
import { cleanupBackups, confirmFlag } from './remove.js';
import { databaseSources } from './source-restore.js';
import { takeBaseBackup } from './pitr/base.js';
import { walStatus } from './pitr/status.js';

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
  /** Drills whose restore took longer than their source's recovery time objective (notified as rto.failed). */
  objectives_missed?: string[];
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
const message = (e: unknown) => redact(isHoardError(e) ? e.message : ((e as Error).message ?? String(e)));

/** Scheduled work waits this long for another run's lock (a cleanup's prune, a backup) before failing. */
const LOCK_WAIT_MS = 10 * 60_000;

/** Runs a job's sources, one snapshot each, with its hooks; after_backup verification as configured. */
export async function runBackupJob(p: Project, env: Env, job: string, o: TaskOptions): Promise<TaskOutcome> {
  const cfg = p.config.jobs?.[job];
  if (!cfg) throw new HoardError('config', `no job ${job} in hoard.yaml`);
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  const timeoutMs = parseDuration(cfg.hooks?.timeout ?? '') ?? 300_000;
  const hidden = referencedVariables(p.config);
  const hook = async (cmds: string[], vars: Record<string, string>) => {
    for (const c of cmds) {
      const h = await runHook(c, {
        cwd: p.dir,
        vars: { HOARD_JOB: job, HOARD_TRIGGER: o.trigger, ...vars },
        timeoutMs,
        baseEnv: env.vars,
        hidden,
        signal: o.signal,
      });
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
      const r = await backupProject(
        env,
        p,
        {
          names: [job],
          info: o.info,
          reason: `${o.trigger} run of job ${job}`,
          lockWaitMs: LOCK_WAIT_MS,
          tidyLocks: true,
          signal: o.signal,
        },
        { report: o.report },
      );
      out.warnings = r.warnings.map(redact);
      for (const s of r.sources) {
        if (s.result?.snapshotId) out.snapshots.push(s.result.snapshotId);
        out.bytes += s.result?.stats.data_added ?? 0;
        const problem = s.error ? `${s.target.source}: ${message(s.error)}` : verificationProblem(s)?.message;
        if (problem) {
          out.result = 'failed';
          out.error ??= problem;
        }
      }
      if (r.copies.length)
        out.copies = r.copies.map((c) => ({
          destination: c.destination,
          ok: c.ok,
          copied: c.copied.length,
          bytes: c.bytes,
          error: c.error && message(c.error),
        }));
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
export async function runVerifyTask(
  p: Project,
  env: Env,
  level: 'read-back' | 'drill',
  o: TaskOptions,
): Promise<TaskOutcome> {
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  const subset =
    level === 'read-back' && p.config.verify?.read_back?.subset
      ? Number(p.config.verify.read_back.subset.replace('%', '')) / 100
      : undefined;
  // a point-in-time source's drill is a restore of its newest base backup to the newest archived WAL
  const pitr = (source: string) => {
    const s = p.config.sources?.[source];
    return s?.type === 'postgres' && s.pitr !== undefined;
  };
  const targets =
    level === 'read-back'
      ? [{ all: true }]
      : (p.config.verify?.drill?.sources ?? databaseSources(p)).map((source) => ({
          latest: true,
          source,
          ...(pitr(source) ? { kind: 'base' } : {}),
        }));
  for (const t of targets) {
    try {
      const results = await verifyBackups(
        env,
        p,
        { ...t, level, subset, trigger: 'schedule' },
        { info: o.info, signal: o.signal, isProcessAlive: o.isProcessAlive, lockWaitMs: LOCK_WAIT_MS },
      );
      for (const r of results) {
        out.snapshots.push(r.backup.id);
        if (r.objective_missed) (out.objectives_missed ??= []).push(r.objective_missed);
        if (!r.ok) {
          out.result = 'failed';
          out.error ??= `${r.backup.short_id}: ${r.message}`;
        }
      }
    } catch (e) {
      if (o.signal?.aborted) throw e;
      out.result = 'failed';
      out.error ??= message(e);
    }
  }
  return out;
}

/**
 * Runs `work` as a task's outcome: what it fills in, or "failed" with its error's message; only
 * an interruption is thrown.
 */
async function outcomeOf(o: TaskOptions, work: (out: TaskOutcome) => Promise<void>): Promise<TaskOutcome> {
  const out: TaskOutcome = { result: 'succeeded', snapshots: [], bytes: 0, error: null, hooks: [] };
  try {
    await work(out);
  } catch (e) {
    if (o.signal?.aborted) throw e;
    out.result = 'failed';
    out.error = message(e);
  }
  return out;
}

/** The scheduled cleanup: expired backups removed by the retention policy (hoard.yaml's own rules: no confirmation), then prune. */
export function runCleanupTask(p: Project, env: Env, o: TaskOptions): Promise<TaskOutcome> {
  return outcomeOf(o, async (out) => {
    const r = await cleanupBackups(env, p, {
      expired: true,
      allowEmpty: true,
      confirm: confirmFlag(true),
      lockWaitMs: LOCK_WAIT_MS,
      signal: o.signal,
    });
    out.snapshots = r.plan.remove.map((x) => x.id);
    out.bytes = r.pruned?.freedActual ?? 0;
  });
}

/** A scheduled base backup of a point-in-time source (its `pitr.base_backup` schedule). */
export function runBaseBackupTask(p: Project, env: Env, source: string, o: TaskOptions): Promise<TaskOutcome> {
  return outcomeOf(o, async (out) => {
    const r = await takeBaseBackup(
      env,
      p,
      { source, labels: { reason: `${o.trigger} base backup of ${source}` } },
      { clock: env.clock, info: o.info, signal: o.signal, report: o.report },
    );
    if (r.snapshotId) out.snapshots.push(r.snapshotId);
    out.bytes = r.stats.data_added;
  });
}

/**
 * The archive watch of a point-in-time source (task `archive:NAME`): fails while the newest
 * archived WAL is older than the source's RPO, or the archive has a gap or a conflict; the
 * scheduler notifies archive.failed when that starts and archive.succeeded when it ends.
 */
export function runArchiveWatch(p: Project, env: Env, source: string, o: TaskOptions): Promise<TaskOutcome> {
  return outcomeOf(o, async (out) => {
    const s = await walStatus(env, p, { source }, { signal: o.signal });
    const problem =
      s.rpo_met === false || s.gaps.length || s.conflicts.length
        ? s.warnings.find((w) => !w.startsWith('no base backup'))
        : undefined;
    if (problem) {
      out.result = 'failed';
      out.error = `${source}: ${problem}`;
    }
  });
}
