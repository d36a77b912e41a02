/**
 * POST /backups/restore (into a target hoard.yaml names; audited with it), /backups/cleanup
 * (dry_run answers at once) and /backups/:id/verify: tasks over the library's use cases.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { HoardEvent } from '../../core/index.js';
import type { Hoard } from '../../app/hoard.js';
import type { TaskManager, TaskView } from '../../app/task-manager.js';
import { BODY_FIELDS, ID_PATTERN, NAME_PATTERN as NAME } from '../../api/contract.js';
import { type ServerOptions, type Slots, sendError } from '../http.js';
import { noteAudit, register } from '../routing.js';

/** The JSON object body with only `allowed` keys; sends 400 and returns undefined otherwise. */
export function body(raw: unknown, allowed: readonly string[], reply: FastifyReply): Record<string, unknown> | undefined {
  const b = (raw ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) { void sendError(reply, 400, 'bad_request', 'the body must be a JSON object'); return undefined; }
  const bad = Object.keys(b).find((k) => !allowed.includes(k));
  if (bad) { void sendError(reply, 400, 'bad_request', `unknown field ${bad}`, `use ${allowed.join(', ')}`); return undefined; }
  return b;
}

/** Starts a task in a free slot (given back when it ends); sends 429 and returns undefined when none is free. */
export function startTask(tasks: TaskManager, busy: Slots, reply: FastifyReply, kind: string, work: (report: (e: HoardEvent) => void, signal: AbortSignal) => Promise<unknown>): TaskView | undefined {
  if (!busy.take(reply)) return undefined;
  return tasks.start(kind, (report, signal) => work(report, signal).finally(() => busy.give()));
}

const accepted = (reply: FastifyReply, message: string, t: { id: string; started: string }) => reply.code(202).send({ status: 'accepted', message, task_id: t.id, timestamp: t.started });

/** The first of `keys` whose value is present but not a name, or undefined. */
const notName = (b: Record<string, unknown>, keys: string[]) => keys.find((k) => b[k] !== undefined && (typeof b[k] !== 'string' || !NAME.test(b[k] as string)));

export async function actionRoutes(app: FastifyInstance, o: ServerOptions, hoard: Hoard, tasks: TaskManager, busy: Slots): Promise<void> {
  register(app, 'restore', async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.restore, reply);
    if (!b) return reply;
    const bad = notName(b, ['id', 'source', 'name', 'target_db', 'database']);
    if (bad) return sendError(reply, 400, 'bad_request', `${bad} must be a name (letters, digits, . _ -)`);
    if (b.target !== undefined && (typeof b.target !== 'string' || !NAME.test(b.target))) {
      return sendError(reply, 403, 'not_allowed', 'target must name a restore target or a source of hoard.yaml; paths and URLs are refused over the API', 'declare the place under restore_targets: in hoard.yaml and send its name');
    }
    if (b.include !== undefined && !(Array.isArray(b.include) && b.include.length <= 100 && b.include.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 4096 && !/[\u0000-\u001f]/.test(x)))) {
      return sendError(reply, 400, 'bad_request', 'include must be a list of at most 100 snapshot paths', 'e.g. ["/srv/app/uploads"]');
    }
    if (b.at !== undefined && (typeof b.at !== 'string' || !/^[0-9T:.+\- Z]{10,40}$/.test(b.at))) return sendError(reply, 400, 'bad_request', 'at must be a date and time');
    const choice = {
      ref: b.id as string | undefined, latest: b.latest === true, source: b.source as string | undefined, name: b.name as string | undefined, at: b.at as string | undefined,
      targetName: b.target as string | undefined, targetDb: b.target_db as string | undefined, database: b.database as string | undefined, include: b.include as string[] | undefined, configuredOnly: true,
    };
    noteAudit(req, { target: choice.targetName ?? null, target_db: choice.targetDb ?? null, dry_run: b.dry_run === true });
    // the plan first: a missing backup (404), a refused target (403) or a protected environment without
    // confirm (409) is answered now, not as a failed task; a dry run is the plan itself
    // the plan walks the snapshot: it holds a slot like the restore itself
    if (!busy.take(reply)) return reply;
    const plan = await hoard.restore({ ...choice, dryRun: true }).finally(() => busy.give());
    noteAudit(req, { backup: plan.backup.id, destination: plan.target });
    if (b.dry_run === true) return { status: 'success', ...plan, timestamp: new Date(o.env.clock.now()).toISOString() };
    if (plan.protected_environment && b.confirm !== true) {
      return sendError(reply, 409, 'confirmation_required', `restoring backup ${plan.backup.short_id} overwrites data in the protected environment ${plan.protected_environment}; nothing was changed`, 'send confirm: true once the target is checked');
    }
    const t = startTask(tasks, busy, reply, 'restore', (_report, signal) => hoard.restore({ ...choice, confirm: b.confirm === true, signal }));
    return t ? accepted(reply, 'restore started', t) : reply;
  });

  register(app, 'cleanup', async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.cleanup, reply);
    if (!b) return reply;
    for (const k of ['older_than_days', 'keep_last', 'keep_daily', 'keep_weekly', 'keep_monthly']) if (b[k] !== undefined && !(Number.isInteger(b[k]) && (b[k] as number) >= 1)) return sendError(reply, 400, 'bad_request', `${k} must be a whole number of 1 or more`);
    const bad = notName(b, ['source', 'environment']);
    if (bad) return sendError(reply, 400, 'bad_request', `${bad} must be a name`);
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
    const t = startTask(tasks, busy, reply, 'cleanup', () => run(false));
    return t ? accepted(reply, 'cleanup started', t) : reply;
  });

  register(app, 'verify', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix, "latest" or a label');
    const b = body(req.body, BODY_FIELDS.verify, reply);
    if (!b) return reply;
    const level = (b.level ?? 'read-back') as string;
    if (!['quick', 'read-back', 'drill'].includes(level)) return sendError(reply, 400, 'bad_request', 'level must be quick, read-back or drill');
    if (b.subset !== undefined && !(typeof b.subset === 'number' && b.subset > 0 && b.subset <= 1)) return sendError(reply, 400, 'bad_request', 'subset must be a fraction above 0 and up to 1');
    const t = startTask(tasks, busy, reply, 'verify', async () => {
      const [r] = await hoard.verify({ ref: id, level: level as 'quick' | 'read-back' | 'drill', subset: b.subset as number | undefined });
      return { ok: r.ok, level: r.level, message: r.message, checks: r.checks, affected: r.affected, snapshot_id: r.backup.id };
    });
    return t ? accepted(reply, `${level} verification started`, t) : reply;
  });
}
