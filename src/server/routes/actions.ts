/** POST /backups/restore, /backups/cleanup (dry_run answers at once) and /backups/:id/verify: tasks over the library's use cases. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Hoard } from '../../app/hoard.js';
import type { TaskManager } from '../../app/task-manager.js';
import { BODY_FIELDS, ID_PATTERN, NAME_PATTERN as NAME, ROUTES } from '../../api/contract.js';
import { type ServerOptions, sendError } from '../app.js';


/** The JSON object body with only `allowed` keys; sends 400 and returns undefined otherwise. */
export function body(raw: unknown, allowed: readonly string[], reply: FastifyReply): Record<string, unknown> | undefined {
  const b = (raw ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) { void sendError(reply, 400, 'bad_request', 'the body must be a JSON object'); return undefined; }
  const bad = Object.keys(b).find((k) => !allowed.includes(k));
  if (bad) { void sendError(reply, 400, 'bad_request', `unknown field ${bad}`, `use ${allowed.join(', ')}`); return undefined; }
  return b;
}

const accepted = (reply: FastifyReply, message: string, t: { id: string; started: string }) => reply.code(202).send({ status: 'accepted', message, task_id: t.id, timestamp: t.started });

export async function actionRoutes(app: FastifyInstance, o: ServerOptions, hoard: Hoard, tasks: TaskManager): Promise<void> {
  app.post(ROUTES.restore.path, async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.restore, reply);
    if (!b) return reply;
    for (const k of ['id', 'source', 'name', 'target_db']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !NAME.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    if (b.target !== undefined && (typeof b.target !== 'string' || /[\u0000-\u001f]/.test(b.target))) return sendError(reply, 400, 'bad_request', 'target must be a folder path or a database URL');
    if (b.at !== undefined && (typeof b.at !== 'string' || !/^[0-9T:.+\- Z]{10,40}$/.test(b.at))) return sendError(reply, 400, 'bad_request', 'at must be a date and time');
    const choice = {
      ref: b.id as string | undefined, latest: b.latest === true, source: b.source as string | undefined, name: b.name as string | undefined, at: b.at as string | undefined,
      target: b.target as string | undefined, targetDb: b.target_db as string | undefined,
    };
    // the plan first: a missing backup (404), a bad target (400) or a protected environment without
    // confirm (409) is answered now, not as a failed task; a dry run is the plan itself
    const plan = await hoard.restore({ ...choice, dryRun: true });
    if (b.dry_run === true) return { status: 'success', ...plan, timestamp: new Date(o.env.clock.now()).toISOString() };
    if (plan.protected_environment && b.confirm !== true) {
      return sendError(reply, 409, 'confirmation_required', `restoring backup ${plan.backup.short_id} overwrites data in the protected environment ${plan.protected_environment}; nothing was changed`, 'send confirm: true once the target is checked');
    }
    const t = tasks.start('restore', (_report, signal) => hoard.restore({ ...choice, confirm: b.confirm === true, signal }));
    return accepted(reply, 'restore started', t);
  });

  app.post(ROUTES.cleanup.path, async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.cleanup, reply);
    if (!b) return reply;
    for (const k of ['older_than_days', 'keep_last', 'keep_daily', 'keep_weekly', 'keep_monthly']) if (b[k] !== undefined && !(Number.isInteger(b[k]) && (b[k] as number) >= 1)) return sendError(reply, 400, 'bad_request', `${k} must be a whole number of 1 or more`);
    for (const k of ['source', 'environment']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !NAME.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be a name`);
    const gfs = Object.fromEntries([['last', b.keep_last], ['daily', b.keep_daily], ['weekly', b.keep_weekly], ['monthly', b.keep_monthly]].filter(([, v]) => v !== undefined));
    const run = async (dryRun: boolean) => {
      const r = await hoard.cleanup({
        dryRun, confirm: b.confirm === true, allowEmpty: b.allow_empty === true, source: b.source as string | undefined, environment: b.environment as string | undefined,
        olderThanMs: b.older_than_days === undefined ? undefined : (b.older_than_days as number) * 86_400_000, gfs: Object.keys(gfs).length ? gfs : undefined,
      });
      return {
        status: 'success', dry_run: dryRun, deleted_count: r.remove.length, deleted_files: r.remove.map((x) => x.id), total_size_freed: r.total_size_freed,
        retention_days: b.older_than_days ?? null, retention: r.applied, decisions: r.decisions.map((d) => ({ id: d.record.id, remove: d.remove, reasons: d.reasons })),
        timestamp: new Date(o.env.clock.now()).toISOString(),
      };
    };
    if (b.dry_run === true) return run(true);
    return accepted(reply, 'cleanup started', tasks.start('cleanup', () => run(false)));
  });

  app.post(ROUTES.verify.path, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix, "latest" or a label');
    const b = body(req.body, BODY_FIELDS.verify, reply);
    if (!b) return reply;
    const level = (b.level ?? 'read-back') as string;
    if (!['quick', 'read-back', 'drill'].includes(level)) return sendError(reply, 400, 'bad_request', 'level must be quick, read-back or drill');
    if (b.subset !== undefined && !(typeof b.subset === 'number' && b.subset > 0 && b.subset <= 1)) return sendError(reply, 400, 'bad_request', 'subset must be a fraction above 0 and up to 1');
    const t = tasks.start('verify', async () => {
      const [r] = await hoard.verify({ ref: id, level: level as 'quick' | 'read-back' | 'drill', subset: b.subset as number | undefined });
      return { ok: r.ok, level: r.level, message: r.message, checks: r.checks, affected: r.affected, snapshot_id: r.backup.id };
    });
    return accepted(reply, `${level} verification started`, t);
  });
}
