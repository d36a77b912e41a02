/**
 * POST /backups/restore: a restore task into a target hoard.yaml names (audited with it). The plan is
 * made first, so a missing backup, a refused target or a protected environment is answered at once.
 */
import type { FastifyInstance } from 'fastify';
import { NAME_PATTERN as NAME } from '../../api/contract.js';
import { type Routed, accepted, body, sendError, startTask } from '../http.js';
import { noteAudit, register } from '../routing.js';

export async function restoreRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'restore', async (req, reply) => {
    const b = body(req.body, 'restore', reply);
    if (!b) return reply;
    if (b.target !== undefined && !NAME.test(b.target)) {
      return sendError(
        reply,
        403,
        'not_allowed',
        'target must name a restore target or a source of hoard.yaml; paths and URLs are refused over the API',
        'declare the place under restore_targets: in hoard.yaml and send its name',
      );
    }
    const choice = {
      ref: b.id,
      latest: b.latest === true,
      source: b.source,
      name: b.name,
      at: b.at,
      targetName: b.target,
      targetDb: b.target_db,
      database: b.database,
      include: b.include,
      configuredOnly: true,
    };
    noteAudit(req, {
      target: choice.targetName ?? null,
      target_db: choice.targetDb ?? null,
      dry_run: b.dry_run === true,
    });
    // the plan first: a missing backup (404), a refused target (403) or a protected environment without
    // confirm (409) is answered now, not as a failed task; a dry run is the plan itself
    // the plan walks the snapshot: it holds a slot like the restore itself
    if (!r.busy.take(reply)) return reply;
    const plan = await r.hoard.restore({ ...choice, dryRun: true }).finally(() => r.busy.give());
    noteAudit(req, { backup: plan.backup.id, destination: plan.target });
    if (b.dry_run === true)
      return { status: 'success', ...plan, timestamp: new Date(r.o.env.clock.now()).toISOString() };
    if (plan.protected_environment && b.confirm !== true) {
      return sendError(
        reply,
        409,
        'confirmation_required',
        `restoring backup ${plan.backup.short_id} overwrites data in the protected environment ${plan.protected_environment}; nothing was changed`,
        'send confirm: true once the target is checked',
      );
    }
    const t = startTask(r, reply, 'restore', (_report, signal) =>
      r.hoard.restore({ ...choice, confirm: b.confirm === true, signal }),
    );
    return t ? accepted(reply, 'restore started', t) : reply;
  });
}
