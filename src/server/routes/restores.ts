/**
 * POST /backups/restore: a restore task into a target hoard.yaml names (audited with it). The plan is
 * made first, so a missing backup, a refused target or a protected environment is answered at once.
 */
import type { FastifyInstance } from 'fastify';
import { BODY_FIELDS, NAME_PATTERN as NAME } from '../../api/contract.js';
import { type Routed, accepted, body, notName, sendError, startTask } from '../http.js';
import { noteAudit, register } from '../routing.js';

export async function restoreRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'restore', async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.restore, reply);
    if (!b) return reply;
    const bad = notName(b, ['id', 'source', 'name', 'target_db', 'database']);
    if (bad) return sendError(reply, 400, 'bad_request', `${bad} must be a name (letters, digits, . _ -)`);
    if (b.target !== undefined && (typeof b.target !== 'string' || !NAME.test(b.target))) {
      return sendError(
        reply,
        403,
        'not_allowed',
        'target must name a restore target or a source of hoard.yaml; paths and URLs are refused over the API',
        'declare the place under restore_targets: in hoard.yaml and send its name',
      );
    }
    if (
      b.include !== undefined &&
      !(
        Array.isArray(b.include) &&
        b.include.length <= 100 &&
        b.include.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 4096 && !/[\u0000-\u001f]/.test(x))
      )
    ) {
      return sendError(
        reply,
        400,
        'bad_request',
        'include must be a list of at most 100 snapshot paths',
        'e.g. ["/srv/app/uploads"]',
      );
    }
    if (b.at !== undefined && (typeof b.at !== 'string' || !/^[0-9T:.+\- Z]{10,40}$/.test(b.at)))
      return sendError(reply, 400, 'bad_request', 'at must be a date and time');
    const choice = {
      ref: b.id as string | undefined,
      latest: b.latest === true,
      source: b.source as string | undefined,
      name: b.name as string | undefined,
      at: b.at as string | undefined,
      targetName: b.target as string | undefined,
      targetDb: b.target_db as string | undefined,
      database: b.database as string | undefined,
      include: b.include as string[] | undefined,
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
