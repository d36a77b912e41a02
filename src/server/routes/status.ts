/** GET /status (the CLI's status --json) and GET /metrics (Prometheus text format). */
import type { FastifyInstance } from 'fastify';
import { openFromEnv } from '../../app/repository-access.js';
import { type StatusReport, projectStatus } from '../../app/status.js';
import { ROUTES } from '../../api/contract.js';
import type { ServerOptions } from '../app.js';

async function report(o: ServerOptions): Promise<StatusReport> {
  const repo = await openFromEnv(o.env, { project: o.project, index: false });
  try {
    return await projectStatus(o.project, repo, o.env, o.project.settings.repository?.value.url ?? '');
  } finally {
    await repo.close();
  }
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition of a status report. */
export function metricsText(s: StatusReport, nowMs: number): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: string, rows: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 'NaN'}`);
    }
  };
  const src = (x: StatusReport['sources'][number]) => ({ source: x.source, type: x.type, environment: x.environment ?? '' });
  const withLast = s.sources.filter((x) => x.last_backup);
  metric('hoard_backup_last_timestamp_seconds', 'Time of the newest backup of the source.', 'gauge', withLast.map((x) => [src(x), Date.parse(x.last_backup!.time) / 1000]));
  metric('hoard_backup_last_size_bytes', 'Size of the newest backup of the source.', 'gauge', withLast.map((x) => [src(x), x.last_backup!.size ?? 0]));
  metric('hoard_backup_age_hours', 'Age of the newest backup of the source.', 'gauge', withLast.map((x) => [src(x), x.last_backup!.age_hours]));
  metric('hoard_backups', 'Backups of the source in the repository.', 'gauge', s.sources.map((x) => [src(x), x.snapshots]));
  const verified = s.sources.filter((x) => x.last_verification);
  metric('hoard_verification_age_seconds', 'Time since the last verification of the source.', 'gauge', verified.map((x) => [{ ...src(x), level: x.last_verification!.level }, Math.round((nowMs - Date.parse(x.last_verification!.at)) / 1000)]));
  metric('hoard_verification_ok', 'Whether the last verification of the source passed (1) or failed (0).', 'gauge', verified.map((x) => [{ ...src(x), level: x.last_verification!.level }, x.last_verification!.ok ? 1 : 0]));
  metric('hoard_repository_size_bytes', 'Bytes stored in the repository.', 'gauge', [[{}, s.repository.size_bytes]]);
  metric('hoard_repository_snapshots', 'Snapshots in the repository.', 'gauge', [[{}, s.repository.snapshots]]);
  metric('hoard_repository_stale_locks', 'Stale locks in the repository.', 'gauge', [[{}, s.locks.stale]]);
  metric('hoard_warnings', 'Warnings hoard status reports.', 'gauge', [[{}, s.warnings.length]]);
  return `${out.join('\n')}\n`;
}

export async function statusRoutes(app: FastifyInstance, o: ServerOptions): Promise<void> {
  app.get(ROUTES.status.path, async () => ({ status: 'success', ...(await report(o)) }));
  app.get(ROUTES.metrics.path, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(metricsText(await report(o), o.env.clock.now())));
}
