/**
 * The backup of hoard.yaml's sources, written once for every door: `hoard backup [NAME…]`, the
 * library's `hoard.backup()` (and so `POST /backups`) and the scheduler's job runs. It plans which
 * sources a selection means, backs each up into one snapshot under a shared lock, verifies each new
 * snapshot as `verify.after_backup` says, then copies each job's new snapshots to its other
 * destinations. A source that fails, a verification that fails and a copy that fails are outcomes,
 * not throws: the door decides what they mean (an exit code, a failed run). Only an interruption
 * (the signal) and a selection that names nothing throw.
 */
import {
  type CompressionMode,
  type Reporter,
  type Repository,
  type SnapshotInfo,
  HoardError,
  isHoardError,
  listSnapshots,
} from '../core/index.js';
import { type Env, lockOwner } from './environment.js';
import type { Project } from './project.js';
import { localRepositoryPath, openFromEnv, tidyLocks, withLock } from './repository-access.js';
import {
  type BackupTarget,
  type RunLabels,
  type SourceBackupResult,
  backupSource,
  newRunId,
  planBackups,
} from './source-backup.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';
import { type VerifyResult, verifySnapshots, withVerifyDefaults } from './verify.js';
import { copyDestinations, copyToDestinations } from './copy.js';

export interface ProjectBackupRequest extends RunLabels {
  /** Source, job or environment names (default: every source). */
  names?: string[];
  kind?: string;
  /** Days to keep the new snapshots (else the job's, the kind's, the environment's rule). */
  retentionDays?: number;
  /** Who and what the snapshots record (host, user, tags, program version). */
  info: SnapshotInfo;
  dryRun?: boolean;
  compression?: CompressionMode;
  /** How long to wait for another process's lock before a source fails (default: env.lockWait). */
  lockWaitMs?: number;
  /** First remove locks left by dead processes on this host and warn of old ones (scheduled runs). */
  tidyLocks?: boolean;
  signal?: AbortSignal;
}

export interface ProjectBackupSink {
  report?: Reporter;
  /** The sources the request means, in the order they will be backed up. */
  planned?(targets: BackupTarget[]): void;
  /** A source is about to be backed up; `previous` is its newest backup before this run. */
  started?(t: BackupTarget, previous: BackupRecord | undefined): void;
  /** A source is done: backed up (and verified), or failed. */
  finished?(s: SourceOutcome): void;
}

export interface AfterBackupVerification {
  level: 'quick' | 'read-back';
  ok: boolean;
  message: string;
  /** The recorded verification (absent when it could not run, for example for a lock). */
  result?: VerifyResult;
  /** Why it could not run (its own kind: "locked" stays "locked"). */
  error?: HoardError;
}

export interface SourceOutcome {
  target: BackupTarget;
  /** The backup's result; absent when it failed. */
  result?: SourceBackupResult;
  /** The new snapshot's record (absent on a dry run or a failure). */
  backup?: BackupRecord;
  /** `verify.after_backup` of the new snapshot, when configured. */
  verification?: AfterBackupVerification;
  /** Why the source has no snapshot. */
  error?: HoardError;
}

export interface JobCopyOutcome {
  job: string;
  destination: string;
  ok: boolean;
  /** The snapshots' ids in the destination. */
  copied: string[];
  /** Snapshots the destination already held. */
  skipped: number;
  bytes: number;
  error: HoardError | null;
}

export interface ProjectBackupOutcome {
  sources: SourceOutcome[];
  copies: JobCopyOutcome[];
  /** Things to report loudly: stale locks cleared, locks held too long, failed copies. */
  warnings: string[];
}

const asHoardError = (e: unknown): HoardError =>
  isHoardError(e) ? e : new HoardError('internal', (e as Error).message, { cause: e });

/**
 * Backs up the sources a request names; kind "usage"/"config" when it names nothing backupable.
 * Opens and closes the repository itself.
 */
export async function backupProject(
  env: Env,
  p: Project,
  req: ProjectBackupRequest,
  sink: ProjectBackupSink = {},
): Promise<ProjectBackupOutcome> {
  const targets = planBackups(p, { names: req.names ?? [], kind: req.kind, retentionDays: req.retentionDays });
  const localRepoPath = localRepositoryPath(p);
  const out: ProjectBackupOutcome = { sources: [], copies: [], warnings: [] };
  const run = {
    label: req.label,
    reason: req.reason,
    description: req.description,
    ticket: req.ticket,
    run: req.run ?? newRunId(env.clock.now()),
  };
  sink.planned?.(targets);
  const repo = await openFromEnv(env, { project: p, compression: req.compression, signal: req.signal });
  try {
    if (req.tidyLocks) out.warnings.push(...(await tidyLocks(env, repo)));
    const history = (await listSnapshots(repo, req.signal)).snapshots.map((e) => toRecord(e));
    for (const t of targets) {
      sink.started?.(t, history.filter((r) => r.source === t.source).pop());
      const s = await backupOne(env, p, repo, t, run, req, sink.report, localRepoPath);
      out.sources.push(s);
      sink.finished?.(s);
    }
  } finally {
    await repo.close();
  }
  await copyJobs(env, p, req, out);
  return out;
}

type Lock = <T>(work: () => Promise<T>) => Promise<T>;

/** One source: its backup, then its after-backup verification; a failure is the outcome's error. */
async function backupOne(
  env: Env,
  p: Project,
  repo: Repository,
  t: BackupTarget,
  run: RunLabels,
  req: ProjectBackupRequest,
  report: Reporter | undefined,
  localRepoPath: string | undefined,
): Promise<SourceOutcome> {
  const locked: Lock = (work) =>
    withLock(env, repo, false, work, req.lockWaitMs ?? env.lockWait?.ms ?? 0, env.lockWait?.onWait, req.signal);
  const opts = { clock: env.clock, info: req.info, signal: req.signal, report, dryRun: req.dryRun };
  let result: SourceBackupResult;
  try {
    result = await locked(() => backupSource(p, repo, t, run, { ...opts, localRepoPath }));
  } catch (e) {
    if (req.signal?.aborted) throw e;
    return { target: t, error: asHoardError(e) };
  }
  const s: SourceOutcome = { target: t, result };
  if (!result.snapshotId) return s;
  s.backup = toRecord({ id: result.snapshotId, snapshot: result.snapshot, timeMs: env.clock.now() });
  const level = p.config.verify?.after_backup;
  if (!level || level === 'none') return s;
  try {
    const [v] = await locked(() =>
      verifySnapshots(p, repo, withVerifyDefaults(p, { ref: result.snapshotId, level, trigger: 'after-backup' }), {
        ...opts,
        dryRun: false,
        isProcessAlive: lockOwner(env).isProcessAlive,
      }),
    );
    s.verification = { level, ok: v.ok, message: v.message, result: v };
    s.backup.verification = { level, ok: v.ok, at: new Date(env.clock.now()).toISOString(), message: v.message };
  } catch (e) {
    if (req.signal?.aborted) throw e;
    const error = asHoardError(e);
    s.verification = { level, ok: false, message: error.message, error };
  }
  return s;
}

/** Each job's new snapshots go to its other destinations; a failed copy is recorded (and warned), the backup stands. */
async function copyJobs(env: Env, p: Project, req: ProjectBackupRequest, out: ProjectBackupOutcome): Promise<void> {
  const made = out.sources.filter((s) => s.backup && s.target.job);
  for (const job of new Set(made.map((s) => s.target.job!))) {
    const dests = copyDestinations(p, job);
    if (!dests.length) continue;
    const c = await copyToDestinations(
      env,
      p,
      dests,
      made.filter((s) => s.target.job === job).map((s) => s.backup!.id),
      { signal: req.signal },
    );
    for (const x of c.ok)
      out.copies.push({
        job,
        destination: x.destination,
        ok: true,
        copied: x.copied.map((y) => y.destination),
        skipped: x.skipped.length,
        bytes: x.bytes,
        error: null,
      });
    for (const x of c.failed) {
      out.copies.push({ job, destination: x.destination, ok: false, copied: [], skipped: 0, bytes: 0, error: x.error });
      out.warnings.push(
        `the copy of job ${job} to ${x.destination} failed (the backup itself is kept): ${x.error.message}`,
      );
    }
  }
}

/** A failed after-backup verification as an error (kind "verify", or why it could not run), or undefined. */
export function verificationProblem(s: SourceOutcome): HoardError | undefined {
  if (!s.verification || s.verification.ok) return undefined;
  if (s.verification.error) return s.verification.error;
  return new HoardError(
    'verify',
    `the new snapshot ${s.backup!.short_id} of ${s.target.source} failed its ${s.verification.level} verification: ${s.verification.message}`,
  );
}

/**
 * The first problem of a run, as the CLI's exit code and a job's failure see it: a failed backup, a
 * files that could not be read (kind "partial") or a failed after-backup
 * verification (kind "verify"), in source order.
 */
export function firstProblem(o: ProjectBackupOutcome): HoardError | undefined {
  for (const s of o.sources) {
    if (s.error) return s.error;
    const unread = s.result?.stats.errors.length ?? 0;
    if (unread) return new HoardError('partial', `${unread} file(s) of ${s.target.source} could not be read`);
    const v = verificationProblem(s);
    if (v) return v;
  }
  return undefined;
}
