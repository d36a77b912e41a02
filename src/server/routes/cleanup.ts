/** POST /backups/cleanup: apply retention as a task, or answer its preview at once with dry_run. */
import type { FastifyInstance } from 'fastify';
import { type Routed, accepted, body, startTask } from '../http.js';
import { register } from '../routing.js';

export async function cleanupRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'cleanup', async (req, reply) => {
    const b = body(req.body, 'cleanup', reply);
    if (!b) return reply;
    const gfs = Object.fromEntries(
      [
        ['last', b.keep_last],
        ['daily', b.keep_daily],
        ['weekly', b.keep_weekly],
        ['monthly', b.keep_monthly],
      ].filter(([, v]) => v !== undefined),
    );
    const run = async (dryRun: boolean) => {
      const out = await r.hoard.cleanup({
        dryRun,
        confirm: b.confirm === true,
        allowEmpty: b.allow_empty === true,
        source: b.source,
        environment: b.environment,
        olderThanMs: b.older_than_days === undefined ? undefined : b.older_than_days * 86_400_000,
        gfs: Object.keys(gfs).length ? gfs : undefined,
      });
      return {
        status: 'success',
        dry_run: dryRun,
        deleted_count: out.remove.length,
        deleted_files: out.remove.map((x) => x.id),
        total_size_freed: out.total_size_freed,
        retention_days: b.older_than_days ?? null,
        retention: out.applied,
        decisions: out.decisions.map((d) => ({ id: d.record.id, remove: d.remove, reasons: d.reasons })),
        timestamp: new Date(r.o.env.clock.now()).toISOString(),
      };
    };
    if (b.dry_run === true) return run(true);
    const t = startTask(r, reply, 'cleanup', () => run(false));
    return t ? accepted(reply, 'cleanup started', t) : reply;
  });
}
