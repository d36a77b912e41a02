/** GET /status (the CLI's status --json) and GET /metrics (Prometheus text format). */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type SchedulerState, openState } from '../../daemon/state.js';
import type { StatusReport } from '../../app/status.js';
import type { Routed, ServerOptions } from '../http.js';
import { register } from '../routing.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

type RunCounts = ReturnType<SchedulerState['counts']>;

/** The scheduler's run history counts (empty when no scheduler has run for the project). */
function runCounts(o: ServerOptions): RunCounts {
  const dir = path.join(o.project.dir, '.hoard');
  if (!existsSync(path.join(dir, 'state.db'))) return [];
  const st = openState(dir);
  try {
    return st.counts();
  } finally {
    st.close();
  }
}

/** Prometheus text exposition of a status report and the scheduler's run counts. */
export function metricsText(s: StatusReport, nowMs: number, runs: RunCounts = []): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: string, rows: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${esc(x)}"`)
        .join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 'NaN'}`);
    }
  };
  const src = (x: StatusReport['sources'][number]) => ({
    source: x.source,
    type: x.type,
    environment: x.environment ?? '',
  });
  const withLast = s.sources.filter((x) => x.last_backup);
  metric(
    'hoard_backup_last_timestamp_seconds',
    'Time of the newest backup of the source.',
    'gauge',
    withLast.map((x) => [src(x), Date.parse(x.last_backup!.time) / 1000]),
  );
  metric(
    'hoard_backup_last_size_bytes',
    'Size of the newest backup of the source.',
    'gauge',
    withLast.map((x) => [src(x), x.last_backup!.size ?? 0]),
  );
  metric(
    'hoard_backup_age_hours',
    'Age of the newest backup of the source.',
    'gauge',
    withLast.map((x) => [src(x), x.last_backup!.age_hours]),
  );
  metric(
    'hoard_backup_last_duration_seconds',
    'How long the newest backup of the source took.',
    'gauge',
    withLast
      .filter((x) => x.last_backup!.duration_ms !== null)
      .map((x) => [src(x), x.last_backup!.duration_ms! / 1000]),
  );
  metric(
    'hoard_backup_last_added_bytes',
    'New bytes the newest backup of the source added to the repository.',
    'gauge',
    withLast.filter((x) => x.last_backup!.data_added !== null).map((x) => [src(x), x.last_backup!.data_added!]),
  );
  metric(
    'hoard_backups',
    'Backups of the source in the repository.',
    'gauge',
    s.sources.map((x) => [src(x), x.snapshots]),
  );
  const failedRuns = (job: string) =>
    runs
      .filter((r) => r.task === job && (r.result === 'failed' || r.result === 'interrupted'))
      .reduce((n, r) => n + r.runs, 0);
  metric(
    'hoard_backup_failures_total',
    'Failed or interrupted scheduled runs of the jobs that back up the source.',
    'counter',
    s.sources.map((x) => [src(x), x.jobs.reduce((n, j) => n + failedRuns(j), 0)]),
  );
  metric(
    'hoard_job_runs_total',
    "Scheduled runs by task and result (the scheduler's history).",
    'counter',
    runs.map((r) => [{ task: r.task, result: r.result }, r.runs]),
  );
  metric(
    'hoard_job_last_success_timestamp_seconds',
    'When the newest successful scheduled run of the task ended.',
    'gauge',
    runs
      .filter((r) => r.result === 'succeeded' && r.last_ended !== null)
      .map((r) => [{ task: r.task }, r.last_ended! / 1000]),
  );
  // one series per level a source has had: a failure stands until a newer check of at least its level passes
  const levels = s.sources.flatMap((x) => Object.entries(x.verification_levels).map(([level, v]) => ({ x, level, v })));
  metric(
    'hoard_verification_age_seconds',
    'Time since the newest verification of the source at this level.',
    'gauge',
    levels.map(({ x, level, v }) => [{ ...src(x), level }, Math.round((nowMs - Date.parse(v.at)) / 1000)]),
  );
  metric(
    'hoard_verification_ok',
    'Whether the source has no standing failure at this level (1) or has one (0).',
    'gauge',
    levels.map(({ x, level }) => [{ ...src(x), level }, x.failed_verifications.some((f) => f.level === level) ? 0 : 1]),
  );
  const drilled = s.sources.filter((x) => x.recovery.last_drill?.restore_ms != null);
  metric(
    'hoard_drill_restore_seconds',
    "How long the restore of the source's newest drill took.",
    'gauge',
    drilled.map((x) => [src(x), x.recovery.last_drill!.restore_ms! / 1000]),
  );
  metric(
    'hoard_recovery_time_objective_seconds',
    "The source's recovery time objective (hoard.yaml's recovery_time_objective).",
    'gauge',
    s.sources.filter((x) => x.recovery.objective_ms !== null).map((x) => [src(x), x.recovery.objective_ms! / 1000]),
  );
  metric(
    'hoard_recovery_time_objective_met',
    "Whether the newest drill's restore fitted the source's recovery time objective (1) or not (0).",
    'gauge',
    s.sources.filter((x) => x.recovery.met !== null).map((x) => [src(x), x.recovery.met ? 1 : 0]),
  );
  const pitr = s.sources.filter((x) => x.pitr !== null);
  const archived = pitr.filter((x) => x.pitr!.newest_archived_at !== null);
  metric(
    'hoard_pitr_newest_archived_timestamp_seconds',
    'When PostgreSQL finished the newest WAL file archived for the point-in-time source.',
    'gauge',
    archived.map((x) => [src(x), Date.parse(x.pitr!.newest_archived_at!) / 1000]),
  );
  metric(
    'hoard_pitr_archive_lag_seconds',
    'Age of the newest archived WAL file: the changes a restore to now would lose.',
    'gauge',
    archived.map((x) => [src(x), x.pitr!.lag_ms! / 1000]),
  );
  metric(
    'hoard_pitr_rpo_seconds',
    "The point-in-time source's recovery point objective (pitr.rpo).",
    'gauge',
    pitr.filter((x) => x.pitr!.rpo_ms !== null).map((x) => [src(x), x.pitr!.rpo_ms! / 1000]),
  );
  metric(
    'hoard_pitr_rpo_met',
    'Whether the newest archived WAL is within the RPO (1) or not (0).',
    'gauge',
    pitr.filter((x) => x.pitr!.rpo_met !== null).map((x) => [src(x), x.pitr!.rpo_met ? 1 : 0]),
  );
  metric(
    'hoard_pitr_wal_gaps',
    'Timelines with a WAL segment missing between a base backup and the newest segment.',
    'gauge',
    pitr.map((x) => [src(x), x.pitr!.gaps.length]),
  );
  metric(
    'hoard_pitr_base_backups',
    'Base backups of the point-in-time source.',
    'gauge',
    pitr.map((x) => [src(x), x.pitr!.base_backups.length]),
  );
  const readable = s.copies.filter((c) => c.error === null);
  metric(
    'hoard_copy_missing_backups',
    "Backups of the jobs' sources that the copy destination lacks.",
    'gauge',
    readable.map((c) => [{ destination: c.destination }, c.missing ?? 0]),
  );
  metric(
    'hoard_copy_lag_hours',
    'Age of the oldest backup the copy destination lacks (0: up to date).',
    'gauge',
    readable.map((c) => [{ destination: c.destination }, c.lag_hours ?? 0]),
  );
  metric(
    'hoard_copy_destination_up',
    'Whether the copy destination could be read (1) or not (0).',
    'gauge',
    s.copies.map((c) => [{ destination: c.destination }, c.error === null ? 1 : 0]),
  );
  metric('hoard_repository_size_bytes', 'Bytes stored in the repository.', 'gauge', [[{}, s.repository.size_bytes]]);
  metric('hoard_repository_snapshots', 'Snapshots in the repository.', 'gauge', [[{}, s.repository.snapshots]]);
  metric('hoard_repository_stale_locks', 'Stale locks in the repository.', 'gauge', [[{}, s.locks.stale]]);
  metric('hoard_warnings', 'Warnings hoard status reports.', 'gauge', [[{}, s.warnings.length]]);
  return `${out.join('\n')}\n`;
}

export async function statusRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'status', async () => ({ status: 'success', ...(await r.hoard.status()) }));
  register(app, 'metrics', async (_req, reply) =>
    reply
      .type('text/plain; version=0.0.4')
      .send(metricsText(await r.hoard.status(), r.o.env.clock.now(), runCounts(r.o))),
  );
}
