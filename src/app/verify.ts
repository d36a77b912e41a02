/**
 * The verify use case: choose snapshots, verify each at a level (quick, read-back, drill), add the
 * size and completeness checks, and record the result in the repository (core/verify/records.ts),
 * where list, info and status read it back. A failed check never throws: it is a result.
 * `verifyBackups` is the door's entry (hoard verify, the library, POST /backups/:id/verify, the
 * scheduled read-back and drill): it opens the repository, takes a shared lock and applies
 * hoard.yaml's defaults (verify.min_size, verify.drill.sql) once for all of them.
 */
import * as os from 'node:os';
import {
  type BackupOptions,
  type Repository,
  type SnapshotEntry,
  type VerificationCheck,
  type VerificationRecord,
  type VerifyLevel,
  type Reporter,
  type SnapshotInfo,
  HoardError,
  listSnapshots,
  saveVerification,
  storedPackSizes,
  verifySnapshotData,
} from '../core/index.js';
import { type Env, lockOwner } from './environment.js';
import { withLock, withRepository } from './repository-access.js';
import { type DrillOptions, drillSnapshot } from './drill.js';
import { objectiveMissed } from './recovery.js';
import { entryOf, parseSize } from '../config/index.js';
import type { Project } from './project.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';
import { chooseSnapshot, queryBackups } from './select.js';
import { isPitrSnapshot, pitrChecks } from './pitr/verify.js';

export interface VerifyRequest {
  /** An id/prefix/label, or latest; `all` for every snapshot; narrowed by source. */
  ref?: string;
  latest?: boolean;
  all?: boolean;
  source?: string;
  /** Only snapshots of this kind (with latest or source). */
  kind?: string;
  level: VerifyLevel;
  /** read-back: the share of packs to read (0–1). */
  subset?: number;
  /** Fail a snapshot smaller than this many bytes. */
  minSize?: number;
  drill?: Omit<DrillOptions, 'isProcessAlive'>;
  /** What started it (recorded): manual (default), schedule, after-backup, api, library. */
  trigger?: string;
  /** Store the results in the repository (default true). */
  record?: boolean;
  random?: () => number;
}

export interface VerifyResult {
  backup: BackupRecord;
  level: VerifyLevel;
  ok: boolean;
  message: string;
  checks: VerificationCheck[];
  /** Files that need damaged or missing data. */
  affected: string[];
  damaged_packs: string[];
  leftovers_removed: string[];
  record_id: string | null;
  /** drill: how long the restore into the scratch target took. */
  restore_ms: number | null;
  /** drill: why the restore missed the source's recovery time objective, or null (not a failure of the backup). */
  objective_missed: string | null;
}

export interface VerifyRunOptions {
  info: SnapshotInfo;
  report?: Reporter;
  signal?: AbortSignal;
  /** How long to wait for another process's exclusive lock (default: the door's --retry-lock, else 0). */
  lockWaitMs?: number;
  /** Whether a drill's leftover scratch database belongs to a dead process (default: this host's pids). */
  isProcessAlive?: (pid: number) => boolean;
}

/** The request with hoard.yaml's verify defaults where it says nothing (min_size, the drill's queries). */
export function withVerifyDefaults(p: Project, req: VerifyRequest): VerifyRequest {
  const v = p.config.verify;
  return {
    ...req,
    minSize: req.minSize ?? (v?.min_size ? parseSize(v.min_size, 'verify.min_size') : undefined),
    drill: { ...req.drill, sql: req.drill?.sql ?? v?.drill?.sql },
  };
}

/** Opens the project's repository and verifies what `req` names under a shared lock, with hoard.yaml's defaults. */
export async function verifyBackups(
  env: Env,
  p: Project,
  req: VerifyRequest,
  o: VerifyRunOptions,
): Promise<VerifyResult[]> {
  const full = withVerifyDefaults(p, req);
  const isProcessAlive = o.isProcessAlive ?? lockOwner(env).isProcessAlive;
  return withRepository(env, { project: p, signal: o.signal }, (repo) =>
    withLock(
      env,
      repo,
      false,
      () =>
        verifySnapshots(p, repo, full, {
          env,
          clock: env.clock,
          info: o.info,
          report: o.report,
          signal: o.signal,
          dryRun: false,
          isProcessAlive,
        }),
      o.lockWaitMs ?? env.lockWait?.ms ?? 0,
      env.lockWait?.onWait,
      o.signal,
    ),
  );
}

/** The snapshots a request names; kind "not-found" / "usage" as chooseSnapshot. */
export function pickForVerify(list: SnapshotEntry[], req: VerifyRequest, nowMs: number): SnapshotEntry[] {
  if (req.all) {
    const all = queryBackups(list, { source: req.source }, nowMs);
    if (!all.length)
      throw new HoardError(
        'not-found',
        req.source ? `no snapshot of source ${req.source}` : 'the repository has no snapshots',
        { hint: 'run `hoard backup` first' },
      );
    return all;
  }
  if (!req.ref && !req.latest && !req.source)
    throw new HoardError('usage', 'verify needs a snapshot', { hint: 'give an id, --latest, --all or --source NAME' });
  return [
    chooseSnapshot(list, { ref: req.ref, latest: req.latest || !req.ref, source: req.source, kind: req.kind }, nowMs),
  ];
}

/** Every source of the snapshot's job present in the snapshot's run (when it came from a job). */
function completeness(p: Project, s: SnapshotEntry, list: SnapshotEntry[]): VerificationCheck | undefined {
  const h = s.snapshot.hoard as { job?: string | null; run?: string | null } | undefined;
  const job = typeof h?.job === 'string' ? entryOf(p.config.jobs, h.job) : undefined; // the job's name comes from the repository
  if (!job || !h?.run) return undefined;
  const present = new Set(
    list
      .filter((e) => (e.snapshot.hoard as { run?: string } | undefined)?.run === h.run)
      .map((e) => toRecord(e).source),
  );
  const missing = job.sources.filter((src) => !present.has(src));
  return missing.length
    ? { name: 'complete', ok: false, message: `run ${h.run} of job ${h.job} lacks ${missing.join(', ')}` }
    : { name: 'complete', ok: true, message: `all ${job.sources.length} sources of job ${h.job} are in run ${h.run}` };
}

/** Verifies the chosen snapshots; never throws for damage (only for what stops a check from running). */
export async function verifySnapshots(
  p: Project,
  repo: Repository,
  req: VerifyRequest,
  o: BackupOptions & { isProcessAlive(pid: number): boolean; env?: Env },
): Promise<VerifyResult[]> {
  const list = (await listSnapshots(repo, o.signal)).snapshots;
  const chosen = pickForVerify(list, req, o.clock.now());
  const stored = await storedPackSizes(repo, o.signal);
  const out: VerifyResult[] = [];
  for (const s of chosen) {
    const started = o.clock.now();
    const backup = toRecord(s);
    const data = await verifySnapshotData(repo, s, {
      level: req.level === 'read-back' ? 'read-back' : 'quick',
      subset: req.subset,
      random: req.random,
      storedPacks: stored,
      signal: o.signal,
      report: o.report,
    });
    const checks = [...data.checks];
    let leftovers: string[] = [];
    let restore: Pick<VerificationRecord, 'restore_ms' | 'restore_bytes'> = {};
    checks.push(...(await pitrChecks(o.env, p, repo, s, list, req.level, o.signal)));
    if (req.level === 'drill' && data.ok && !isPitrSnapshot(s)) {
      const d = await drillSnapshot(p, repo, s, { ...req.drill, isProcessAlive: o.isProcessAlive }, o);
      checks.push(...d.checks);
      leftovers = d.leftovers;
      restore = { restore_ms: d.restoreMs, restore_bytes: backup.size ?? 0 };
    }
    if (req.minSize !== undefined) {
      const size = backup.size ?? 0;
      checks.push(
        size >= req.minSize
          ? { name: 'size', ok: true, message: `${size} bytes ≥ ${req.minSize}` }
          : { name: 'size', ok: false, message: `the backup is ${size} bytes, below the minimum of ${req.minSize}` },
      );
    }
    const c = completeness(p, s, list);
    if (c) checks.push(c);
    const ok = checks.every((x) => x.ok);
    const failed = checks.filter((x) => !x.ok);
    const message = ok
      ? `${checks.length} check(s) passed`
      : `${failed[0].message}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`;
    const record: VerificationRecord = {
      snapshot: s.id,
      original: s.snapshot.original ?? s.id,
      level: req.level,
      ok,
      at: new Date(o.clock.now()).toISOString(),
      duration_ms: o.clock.now() - started,
      ...(req.level === 'read-back' && req.subset !== undefined && req.subset < 1 ? { subset: req.subset } : {}),
      checks,
      message,
      hostname: os.hostname(),
      program_version: o.info.programVersion,
      ...(backup.source ? { source: backup.source } : {}),
      trigger: req.trigger ?? 'manual',
      ...restore,
    };
    const id = req.record === false ? null : await saveVerification(repo, record);
    out.push({
      backup,
      level: req.level,
      ok,
      message,
      checks,
      affected: data.affected,
      damaged_packs: data.packs,
      leftovers_removed: leftovers,
      record_id: id,
      restore_ms: restore.restore_ms ?? null,
      objective_missed:
        (restore.restore_ms !== undefined && backup.source
          ? objectiveMissed(p, backup.source, restore.restore_ms)
          : undefined) ?? null,
    });
  }
  return out;
}
