/**
 * The typed library API: `openHoard()` gives a project's backups to a Node program, with the same
 * use cases as the CLI (hoard.yaml, sources, environments, protection) and typed events. Nothing
 * here prints or exits; failures are HoardError with a `kind` (see the README's exit-code table).
 * Protected environments: restore, delete and cleanup there need `confirm: true`.
 */
import { EventEmitter } from 'node:events';
import { type Clock, type HoardEvent, type SnapshotInfo, HoardError, KeyCache, isHoardError } from '../core/index.js';
import { type Env, identity, systemClock } from './environment.js';
import { type VerifyRequest, type VerifyResult, verifyBackups } from './verify.js';
import { type Project, loadProject } from './project.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';
import type { BackupQuery, SnapshotChoice } from './select.js';
import { backupInfo, listBackups, readStatus, withChosenSnapshot } from './catalog.js';
import type { RunLabels } from './source-backup.js';
import { backupProject, firstProblem } from './project-backup.js';
import type { DatabaseRestoreResult } from './database-restore.js';
import { restoreError, restoreSnapshot } from './restore.js';
import type { StatusReport } from './status.js';
import type { CleanupPlan, CleanupRequest } from './cleanup.js';
import { cleanupBackups, confirmFlag, deleteBackup } from './remove.js';
import { confirmBackup } from './confirm.js';

export interface OpenHoardOptions {
  /**
   * The project folder (default: the current folder); hoard.yaml is found from here upwards, and a
   * found one (or its .env) owned by another user (not root) or writable by others is refused, kind
   * "config" (name it with `config` to use it as it is).
   */
  cwd?: string;
  /** An explicit config file. */
  config?: string;
  /** A repository URL, or the name of one in hoard.yaml. */
  repository?: string;
  /** The repository password (else HOARD_PASSWORD*, else hoard.yaml's reference). */
  password?: string;
  /** The environment in force (else HOARD_ENVIRONMENT, else hoard.yaml's). */
  environment?: string;
  /** Variables for env: references and HOARD_* settings (default: process.env). */
  vars?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Recorded as the snapshots' program version. */
  programVersion?: string;
}

/** The events a Hoard emits, by name. */
export interface HoardEvents {
  'backup.started': { source: string; kind: string; environment: string | null };
  'backup.created': { source: string; backup: BackupRecord };
  'backup.failed': { source: string; error: HoardError };
  'restore.started': { id: string; target: string | null };
  'restore.completed': { id: string; target: string | null; pre_restore_snapshot_id: string | null };
  'restore.failed': { id: string; error: HoardError };
  'cleanup.completed': { deleted: BackupRecord[]; dry_run: boolean };
  'verify.succeeded': { result: VerifyResult };
  'verify.failed': { result: VerifyResult };
  /** Progress and warnings of long operations (the CLI's progress line). */
  progress: HoardEvent;
}

export interface BackupRequest extends RunLabels {
  /** Source, job or environment names (default: every source). */
  sources?: string[];
  kind?: string;
  retentionDays?: number;
  signal?: AbortSignal;
}

export interface BackupOutcome {
  /** One record per source backed up. */
  created: BackupRecord[];
  failed: { source: string; error: HoardError }[];
  /**
   * The run's first problem, as `hoard backup`'s exit code and a scheduled run see it: a failed
   * backup, files that could not be read, or a failed after-backup verification; null when none.
   */
  problem: HoardError | null;
  /** Copies to jobs' other destinations (a failed copy does not fail the backup). */
  copies?: { job: string; destination: string; ok: boolean; copied: number; error: string | null }[];
}

export interface RestoreRequest extends SnapshotChoice {
  /** A folder (files), or a database URL / SQLite path (databases), or a restore target's name; default: a database's own source. */
  target?: string;
  /** A name from hoard.yaml: a restore target, or a source (its own location). */
  targetName?: string;
  /** Only hoard.yaml's names may be used as the target (the REST API sets this). */
  configuredOnly?: boolean;
  /** Restore into this database name instead (PostgreSQL, MySQL). */
  targetDb?: string;
  /** From a server-wide (--all) snapshot: which database. */
  database?: string;
  /** Files: only these snapshot paths. */
  include?: string[];
  /** Keep files' setuid/setgid bits (default: only for an in-place restore of a files source). */
  keepSetId?: boolean;
  dryRun?: boolean;
  /** Needed to overwrite data in a protected environment (the target's). */
  confirm?: boolean;
  signal?: AbortSignal;
}

export interface RestoreOutcome {
  backup: BackupRecord;
  /** Where the restore writes: a folder, a SQLite file or a database (never with a password). */
  target: string;
  /** The hoard.yaml name the target was chosen by (a restore target or a source), or null. */
  target_name: string | null;
  dry_run: boolean;
  /** The protected environment whose data the restore overwrites (it needs `confirm`), or null. */
  protected_environment: string | null;
  pre_restore_snapshot_id: string | null;
  /** Files restored (files backups; a dry run: files it would restore). */
  files?: number;
  database?: DatabaseRestoreResult;
}

export interface CleanupOptions extends CleanupRequest {
  dryRun?: boolean;
  confirm?: boolean;
  /** Prune after removing (default true). */
  prune?: boolean;
  /** Prune's --max-unused: a share of the repository (default 0.05, 1 = unlimited) or `{ bytes }`. */
  maxUnused?: number | { bytes: number };
}

export interface Hoard {
  /** The config file in use, or null. */
  readonly configFile: string | null;
  /** The configured source names. */
  readonly sources: string[];
  backup(req?: BackupRequest): Promise<BackupOutcome>;
  /** Waits for a running prune (up to two minutes; `signal` stops the wait). */
  list(query?: BackupQuery, o?: { signal?: AbortSignal }): Promise<BackupRecord[]>;
  info(ref: string, o?: { signal?: AbortSignal }): Promise<BackupRecord>;
  restore(req: RestoreRequest): Promise<RestoreOutcome>;
  status(): Promise<StatusReport>;
  delete(ref: string, o?: { confirm?: boolean }): Promise<BackupRecord>;
  /** The plan, then (unless dryRun) removal and prune; total_size_freed: what prune freed (dry run: the estimate). */
  cleanup(o?: CleanupOptions): Promise<CleanupPlan & { dry_run: boolean; total_size_freed: number }>;
  /** Verifies backups (quick, read-back or drill) and records the results; a failed check is a result with ok: false, not a throw. */
  verify(req: VerifyRequest): Promise<VerifyResult[]>;
  /** Records who verified the change a `ticket` or pre-migration backup preceded; returns the backup (its id changes). */
  confirm(ref: string, c: { by: string; note?: string }): Promise<BackupRecord>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof HoardEvents>(event: E, listener: (e: HoardEvents[E]) => void): () => void;
}

/** Opens a project. Kind "config" for a bad hoard.yaml; the repository is opened per call. */
export async function openHoard(o: OpenHoardOptions = {}): Promise<Hoard> {
  const vars = { ...(o.vars ?? process.env), ...(o.password !== undefined ? { HOARD_PASSWORD: o.password } : {}) };
  const env: Env = {
    vars,
    clock: o.clock ?? systemClock,
    cwd: o.cwd ?? process.cwd(),
    isTTY: false,
    keys: new KeyCache(),
  };
  return createHoard(
    env,
    await loadProject(env, { config: o.config, repo: o.repository, environment: o.environment }),
    o.programVersion,
  );
}

/**
 * The library's use cases over a loaded project, for a door that has loaded it already (`hoard serve`
 * with the CLI's --repo, --config and --environment in force).
 */
export function createHoard(env: Env, project: Project, programVersion = 'hoard'): Hoard {
  const emitter = new EventEmitter();
  const emit = <E extends keyof HoardEvents>(e: E, v: HoardEvents[E]) => {
    emitter.emit(e, v);
  };
  const report = (e: HoardEvent) => emit('progress', e);
  const who = identity(env);
  const info = (): SnapshotInfo => ({
    hostname: who.hostname,
    username: who.username,
    uid: who.uid,
    gid: who.gid,
    programVersion,
  });

  return {
    configFile: project.loaded?.file ?? null,
    sources: Object.keys(project.config.sources ?? {}),
    on(event, listener) {
      emitter.on(event, listener as (e: unknown) => void);
      return () => {
        emitter.off(event, listener as (e: unknown) => void);
      };
    },

    async backup(req = {}) {
      const r = await backupProject(
        env,
        project,
        {
          names: req.sources,
          kind: req.kind,
          retentionDays: req.retentionDays,
          label: req.label,
          reason: req.reason,
          description: req.description,
          ticket: req.ticket,
          info: info(),
          signal: req.signal,
        },
        {
          report,
          started: (t) =>
            emit('backup.started', { source: t.source, kind: t.kind, environment: t.environment ?? null }),
          finished: (s) => {
            if (s.error) emit('backup.failed', { source: s.target.source, error: s.error });
            else if (s.backup) emit('backup.created', { source: s.target.source, backup: s.backup });
            const v = s.verification?.result;
            if (v) emit(v.ok ? 'verify.succeeded' : 'verify.failed', { result: v });
          },
        },
      );
      const out: BackupOutcome = {
        created: r.sources.flatMap((s) => (s.backup ? [s.backup] : [])),
        failed: r.sources.flatMap((s) => (s.error ? [{ source: s.target.source, error: s.error }] : [])),
        problem: firstProblem(r) ?? null,
      };
      if (r.copies.length)
        out.copies = r.copies.map((c) => ({
          job: c.job,
          destination: c.destination,
          ok: c.ok,
          copied: c.copied.length,
          error: c.error?.message ?? null,
        }));
      return out;
    },

    async list(query = {}, o = {}) {
      return (await listBackups(env, project, query, o)).backups;
    },

    async info(ref, o = {}) {
      return (await backupInfo(env, project, ref, o)).backup;
    },

    async status() {
      return readStatus(env, project);
    },

    async restore(req) {
      return withChosenSnapshot(
        env,
        project,
        req,
        async (repo, s) => {
          const backup = toRecord(s);
          if (!req.dryRun) emit('restore.started', { id: s.id, target: req.targetName ?? req.target ?? null });
          try {
            const r = await restoreSnapshot(
              project,
              repo,
              s,
              {
                target: req.target,
                targetName: req.targetName,
                configuredOnly: req.configuredOnly,
                targetDb: req.targetDb,
                database: req.database,
                include: req.include,
                keepSetId: req.keepSetId,
                dryRun: req.dryRun,
                confirmed: req.confirm === true,
              },
              { clock: env.clock, info: info(), report, signal: req.signal },
            );
            const failure = restoreError(r);
            if (failure) throw failure;
            if (!r.dry_run)
              emit('restore.completed', {
                id: s.id,
                target: r.target,
                pre_restore_snapshot_id: r.pre_restore_snapshot_id,
              });
            return {
              backup,
              target: r.target,
              target_name: r.target_name,
              dry_run: r.dry_run,
              protected_environment: r.protected_environment,
              pre_restore_snapshot_id: r.pre_restore_snapshot_id,
              ...(r.files ? { files: r.files.files } : {}),
              ...(r.database ? { database: r.database } : {}),
            };
          } catch (e) {
            const error = isHoardError(e) ? e : new HoardError('internal', (e as Error).message, { cause: e });
            if (!req.dryRun) emit('restore.failed', { id: s.id, error });
            throw error;
          }
        },
        { signal: req.signal },
      );
    },

    async delete(ref, d = {}) {
      return (await deleteBackup(env, project, ref, { confirm: confirmFlag(d.confirm) })).backup;
    },

    async confirm(ref, c) {
      const r = await confirmBackup(env, project, { ref, by: c.by, note: c.note });
      return (await backupInfo(env, project, r.id)).backup;
    },

    async verify(req) {
      const results = await verifyBackups(env, project, { trigger: 'library', ...req }, { info: info(), report });
      for (const r of results) emit(r.ok ? 'verify.succeeded' : 'verify.failed', { result: r });
      return results;
    },

    async cleanup(c = {}) {
      const r = await cleanupBackups(env, project, { ...c, confirm: confirmFlag(c.confirm), report });
      emit('cleanup.completed', { deleted: r.plan.remove, dry_run: r.dry_run });
      return { ...r.plan, dry_run: r.dry_run, total_size_freed: r.pruned ? r.pruned.freedActual : r.estimate };
    },
  };
}
