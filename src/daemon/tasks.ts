/**
 * The scheduler's tasks from hoard.yaml: each job with a `schedule` or `on_change`, the scheduled
 * read-back and drill (`verify.read_back`, `verify.drill`), the scheduled cleanup (`cleanup`) and
 * the base backups of point-in-time sources (`sources.NAME.pitr.base_backup`, task `base:NAME`)
 * and their archive watch (task `archive:NAME`, half the RPO apart).
 * On-change triggers watch files with filesystem events, SQLite databases by the growth of the
 * file and its WAL (polled each second), and PostgreSQL/MySQL by their change token (polled every
 * 5 s: row counters, update times).
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import * as path from 'node:path';
import type { Reporter, SnapshotInfo } from '../core/index.js';
import { machineZone, parseDuration, scheduleOf } from '../config/index.js';
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import { runArchiveWatch, runBackupJob, runBaseBackupTask, runCleanupTask, runVerifyTask } from '../app/run-job.js';
import { databaseWatcher } from '../app/change-watch.js';
import type { ChangeTrigger, Task } from './scheduler.js';

export interface TaskDeps {
  env: Env;
  info: SnapshotInfo;
  report?: Reporter;
  isProcessAlive(pid: number): boolean;
  log(line: string): void;
  /** Poll interval of SQLite change detection (default 1 s). */
  pollMs?: number;
}

function fileWatcher(paths: string[], log: (l: string) => void): (changed: () => void) => () => void {
  return (changed) => {
    const ws: FSWatcher[] = [];
    for (const p of paths) {
      try {
        ws.push(watch(p, { recursive: true }, () => changed()));
      } catch (e) {
        log(`cannot watch ${p}: ${(e as Error).message}`);
      }
    }
    return () => ws.forEach((w) => w.close());
  };
}

function sqliteWatcher(file: string, pollMs: number): (changed: () => void) => () => void {
  const sig = () =>
    [file, `${file}-wal`]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.size}:${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  return (changed) => {
    let last = sig();
    const timer = setInterval(() => {
      const now = sig();
      if (now !== last) {
        last = now;
        changed();
      }
    }, pollMs);
    timer.unref();
    return () => clearInterval(timer);
  };
}

/** The tasks hoard.yaml describes. */
export function tasksFrom(p: Project, d: TaskDeps): Task[] {
  const where = (k: string) => (p.loaded ? `${p.loaded.file} ${k}` : k);
  const opts = (trigger: string, signal: AbortSignal) => ({
    trigger,
    signal,
    info: d.info,
    report: d.report,
    isProcessAlive: d.isProcessAlive,
  });
  const tasks: Task[] = [];
  for (const [name, job] of Object.entries(p.config.jobs ?? {})) {
    if (!job.schedule && !job.on_change) continue;
    let onChange: ChangeTrigger | undefined;
    if (job.on_change) {
      const watchers: ((c: () => void) => () => void)[] = [];
      for (const src of job.sources) {
        const s = p.config.sources?.[src];
        if (s?.type === 'files')
          watchers.push(
            fileWatcher(
              s.paths.map((x) => path.resolve(p.dir, x)),
              d.log,
            ),
          );
        else if (s?.type === 'sqlite') watchers.push(sqliteWatcher(path.resolve(p.dir, s.path), d.pollMs ?? 1000));
        else {
          const w = databaseWatcher(p, src, d.pollMs ?? 5000, d.log);
          if (w) watchers.push(w);
          else d.log(`${name}: on_change cannot watch ${src}`);
        }
      }
      onChange = {
        debounceMs: parseDuration(job.on_change.debounce ?? '') ?? 30_000,
        minIntervalMs: parseDuration(job.on_change.min_interval ?? '') ?? 300_000,
        watch: (changed) => {
          const stops = watchers.map((w) => w(changed));
          return () => stops.forEach((s) => s());
        },
      };
    }
    tasks.push({
      name,
      schedule: job.schedule ? scheduleOf(job.schedule, where(`jobs.${name}.schedule`)) : undefined,
      onChange,
      catchUp: job.catch_up !== false,
      timeZone: job.timezone ?? machineZone(),
      jitterMs: parseDuration(job.jitter ?? '') ?? 0,
      run: (trigger, signal) => runBackupJob(p, d.env, name, opts(trigger, signal)),
    });
  }
  const v = p.config.verify;
  if (v?.read_back?.schedule)
    tasks.push({
      name: 'verify:read-back',
      schedule: scheduleOf(v.read_back.schedule, where('verify.read_back.schedule')),
      catchUp: true,
      timeZone: machineZone(),
      run: (tr, sg) => runVerifyTask(p, d.env, 'read-back', opts(tr, sg)),
    });
  if (v?.drill?.schedule)
    tasks.push({
      name: 'verify:drill',
      schedule: scheduleOf(v.drill.schedule, where('verify.drill.schedule')),
      catchUp: true,
      timeZone: machineZone(),
      run: (tr, sg) => runVerifyTask(p, d.env, 'drill', opts(tr, sg)),
    });
  if (p.config.cleanup?.schedule)
    tasks.push({
      name: 'cleanup',
      exclusive: true,
      schedule: scheduleOf(p.config.cleanup.schedule, where('cleanup.schedule')),
      catchUp: true,
      timeZone: machineZone(),
      run: (tr, sg) => runCleanupTask(p, d.env, opts(tr, sg)),
    });
  for (const [name, s] of Object.entries(p.config.sources ?? {})) {
    if (s.type !== 'postgres' || !s.pitr) continue;
    if (s.pitr.base_backup)
      tasks.push({
        name: `base:${name}`,
        schedule: scheduleOf(s.pitr.base_backup, where(`sources.${name}.pitr.base_backup`)),
        catchUp: true,
        timeZone: machineZone(),
        run: (tr, sg) => runBaseBackupTask(p, d.env, name, opts(tr, sg)),
      });
    // the archive watch: half the RPO apart (1 s to 5 min; 5 min without an RPO)
    const rpo = parseDuration(s.pitr.rpo ?? '');
    tasks.push({
      name: `archive:${name}`,
      schedule: { type: 'every', ms: rpo ? Math.min(300_000, Math.max(1000, rpo / 2)) : 300_000 },
      catchUp: false,
      quiet: true,
      timeZone: machineZone(),
      run: (tr, sg) => runArchiveWatch(p, d.env, name, opts(tr, sg)),
    });
  }
  return tasks;
}
