/**
 * The state of a project at a glance: per source its last backup and age, its next scheduled run
 * and last verification; the repository's size, snapshot count and locks; and warnings a user
 * should act on. Reads only; takes no lock (a status must work while a backup runs).
 */
import {
  type Repository,
  type SnapshotEntry,
  alreadyCopied,
  isStale,
  listLocks,
  listSnapshots,
  loadVerifications,
  recordsOf,
  standingVerification,
  type VerificationRecord,
} from '../core/index.js';
import { machineZone, nextDue, parseSchedule } from '../config/index.js';
import { lockOwner, type Env } from './environment.js';
import { type RecoveryStatus, recoveryOf } from './recovery.js';
import { type WalStatus, pitrStatusOf } from './pitr/status.js';
import { type Project, environmentFor } from './project.js';
import { type BackupRecord, type VerificationView, levelViews, toRecord, viewOf } from './snapshot-view.js';

export interface SourceStatus {
  source: string;
  type: string;
  environment: string | null;
  jobs: string[];
  schedule: string | null;
  snapshots: number;
  last_backup: {
    id: string;
    time: string;
    age_hours: number;
    kind: string;
    size: number | null;
    duration_ms: number | null;
    data_added: number | null;
  } | null;
  /** The soonest next run among the source's scheduled jobs (presets, intervals or cron, each in its job's timezone); null for on-change or none. */
  next_run: string | null;
  /**
   * The source's standing verification over all its backups: its newest failure that no newer
   * verification of at least that level (of any of its backups) has passed since, else its newest.
   */
  last_verification: BackupRecord['verification'];
  /** The newest verification of each level over the source's backups. */
  verification_levels: Record<string, VerificationView>;
  /** Failures that stand: no newer verification of at least their level has passed (oldest first), with their backup. */
  failed_verifications: (VerificationView & { snapshot_id: string })[];
  /** The recovery time objective and how the newest drill measured up to it (app/recovery.ts). */
  recovery: RecoveryStatus;
  /** A point-in-time source's archive: newest archived WAL, lag, RPO, base backups, gaps (else null). */
  pitr: Omit<WalStatus, 'source' | 'warnings'> | null;
  warnings: string[];
}

export interface StatusReport {
  config: string | null;
  environment: string | null;
  repository: { url: string; size_bytes: number; snapshots: number; damaged_snapshots: number };
  locks: { total: number; stale: number; exclusive: number };
  sources: SourceStatus[];
  /** Snapshots that belong to no source of hoard.yaml (restic-style or removed sources). */
  other_snapshots: number;
  /** Each job destination besides this repository: what it lacks of those jobs' backups, and since when. */
  copies: CopyStatus[];
  warnings: string[];
}

export interface CopyStatus {
  destination: string;
  jobs: string[];
  /** Backups of the jobs' sources here that the destination lacks; null when it could not be read. */
  missing: number | null;
  /** Hours since the oldest backup it lacks was made (0: up to date). */
  lag_hours: number | null;
  error: string | null;
}

/** Opens a destination and lists its snapshots (injected: status is read-only and takes no lock). */
export type DestinationLister = (destination: string) => Promise<SnapshotEntry[]>;

const TYPES = ['data', 'index', 'snapshot', 'key', 'lock', 'verification'] as const;

/** Total bytes of the repository's files (config included). */
export async function repositorySize(repo: Repository, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for (const t of TYPES) for await (const f of repo.backend.list(t, { signal })) n += f.size;
  return n;
}

/** How late a source may be before status warns: 1.5 × its schedule's period, else 7 days. */
function lateAfterMs(schedules: string[]): number {
  let period = 7 * 86_400_000;
  for (const s of schedules) {
    const p = parseSchedule(s);
    if (!p.ok) continue;
    const ms =
      p.schedule.type === 'every'
        ? p.schedule.ms
        : p.schedule.type === 'daily'
          ? 86_400_000
          : p.schedule.type === 'weekly'
            ? 7 * 86_400_000
            : period;
    period = Math.min(period, ms * 1.5);
  }
  return period;
}

/** The status of the project's sources and repository at `env.clock.now()`. */
export async function projectStatus(
  p: Project,
  repo: Repository,
  env: Env,
  displayUrl: string,
  signal?: AbortSignal,
  listDestination?: DestinationLister,
): Promise<StatusReport> {
  const now = env.clock.now();
  const list = await listSnapshots(repo, signal);
  const verifications = await loadVerifications(repo, signal, now);
  const records = list.snapshots.map((e) => toRecord(e, verifications));
  const locks = await listLocks(repo);
  const owner = lockOwner(env);
  const stale = locks.filter((l) => !l.lock || isStale(l.lock, now, owner)).length;
  const sources: SourceStatus[] = [];
  for (const [name, cfg] of Object.entries(p.config.sources ?? {})) {
    const mine = records.filter((r) => r.source === name);
    const { history, backupTime } = sourceRecords(list.snapshots, records, name, verifications);
    const standing = standingVerification(history, backupTime);
    const recovery = recoveryOf(p, name, history, now);
    const jobs = Object.entries(p.config.jobs ?? {}).filter(([, j]) => j.sources.includes(name));
    const schedules = jobs.map(([, j]) => j.schedule).filter((s): s is string => !!s);
    const last = mine[mine.length - 1];
    // the scheduler's own engine: each job in its time zone; an interval counts from the last backup
    const nexts = jobs.flatMap(([, j]) => {
      const ps = j.schedule ? parseSchedule(j.schedule) : undefined;
      return ps?.ok
        ? [
            Math.max(
              now,
              nextDue(
                ps.schedule,
                ps.schedule.type === 'every' ? last?.created_ms : undefined,
                now,
                j.timezone ?? machineZone(),
              ),
            ),
          ]
        : [];
    });
    const warnings: string[] = [];
    if (!last) warnings.push(`${name} has never been backed up: run \`hoard backup ${name}\``);
    else if (now - last.created_ms > lateAfterMs(schedules))
      warnings.push(`${name}'s last backup is ${Math.round((now - last.created_ms) / 3_600_000)} hours old`);
    const verified = standing.shown ? viewOf(standing.shown) : null;
    for (const f of standing.failing)
      warnings.push(`${name}'s last ${f.level} FAILED (${f.snapshot.slice(0, 8)}): ${f.message || f.level}`);
    warnings.push(...recovery.warnings);
    const pitr = cfg.type === 'postgres' && cfg.pitr ? pitrStatusOf(name, cfg.pitr, list.snapshots, now) : null;
    if (pitr) warnings.push(...pitr.warnings);
    sources.push({
      source: name,
      type: cfg.type,
      environment: environmentFor(p, cfg.environment) ?? null,
      jobs: jobs.map(([n]) => n),
      schedule: schedules[0] ?? null,
      snapshots: mine.length,
      last_backup: last
        ? {
            id: last.id,
            time: last.time,
            age_hours: Number(((now - last.created_ms) / 3_600_000).toFixed(2)),
            kind: last.kind,
            size: last.size,
            duration_ms: last.duration_ms,
            data_added: last.data_added,
          }
        : null,
      next_run: nexts.length ? new Date(Math.min(...nexts)).toISOString() : null,
      last_verification: verified,
      verification_levels: levelViews(standing),
      failed_verifications: standing.failing.map((f) => ({ ...viewOf(f), snapshot_id: f.snapshot })),
      recovery: recovery.status,
      pitr: pitr && (({ source: _s, warnings: _w, ...rest }) => rest)(pitr),
      warnings,
    });
  }
  const warnings = sources.flatMap((s) => s.warnings);
  if (stale) warnings.push(`${stale} stale lock(s) in the repository: run \`hoard unlock\``);
  if (list.damaged.length) warnings.push(`${list.damaged.length} snapshot file(s) cannot be read: run \`hoard check\``);
  const known = new Set(sources.map((s) => s.source));
  const copies = listDestination ? await copyStatus(p, list.snapshots, now, listDestination) : [];
  for (const c of copies) {
    if (c.error) warnings.push(`the copy destination ${c.destination} cannot be read: ${c.error}`);
    else if (c.missing)
      warnings.push(
        `${c.destination} lacks ${c.missing} backup(s); the oldest is ${c.lag_hours} hours old: run \`hoard copy --to ${c.destination}\``,
      );
  }
  return {
    config: p.loaded?.file ?? null,
    environment: p.settings.environment?.value ?? null,
    repository: {
      url: displayUrl,
      size_bytes: await repositorySize(repo, signal),
      snapshots: records.length,
      damaged_snapshots: list.damaged.length,
    },
    locks: { total: locks.length, stale, exclusive: locks.filter((l) => l.lock?.exclusive).length },
    sources,
    other_snapshots: records.filter((r) => !r.source || !known.has(r.source)).length,
    copies,
    warnings,
  };
}

/** The verification records of every backup of a source, oldest first, and the time of each one's backup. */
function sourceRecords(
  entries: SnapshotEntry[],
  records: BackupRecord[],
  source: string,
  all: VerificationRecord[],
): { history: VerificationRecord[]; backupTime: (r: VerificationRecord) => number } {
  const times = new Map<VerificationRecord, number>();
  for (const e of entries.filter((_, i) => records[i].source === source))
    for (const r of recordsOf(all, e)) times.set(r, e.timeMs);
  return { history: all.filter((r) => times.has(r)), backupTime: (r) => times.get(r) ?? 0 };
}

async function copyStatus(
  p: Project,
  here: SnapshotEntry[],
  now: number,
  listDestination: DestinationLister,
): Promise<CopyStatus[]> {
  const primary = p.settings.repository?.value.name;
  const byDest = new Map<string, string[]>();
  for (const [job, j] of Object.entries(p.config.jobs ?? {}))
    for (const d of j.destinations ?? []) if (d !== primary) byDest.set(d, [...(byDest.get(d) ?? []), job]);
  const out: CopyStatus[] = [];
  for (const [destination, jobs] of byDest) {
    const sources = new Set(jobs.flatMap((j) => p.config.jobs?.[j]?.sources ?? []));
    const mine = here.filter((e) => sources.has(toRecord(e).source ?? ''));
    try {
      const have = alreadyCopied(mine, await listDestination(destination));
      const lacking = mine.filter((e) => !have.has(e.id));
      out.push({
        destination,
        jobs,
        missing: lacking.length,
        lag_hours: lacking.length ? Number(((now - lacking[0].timeMs) / 3_600_000).toFixed(2)) : 0,
        error: null,
      });
    } catch (e) {
      out.push({ destination, jobs, missing: null, lag_hours: null, error: (e as Error).message });
    }
  }
  return out;
}
