/**
 * The backups collection: GET /backups (the CLI's list filters) and GET /backups/:id (the library's
 * list and info; they wait for a running prune, as the CLI does, and a client that hangs up stops
 * its wait), POST /backups (a backup task) and DELETE /backups/:id (audited).
 */
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN, LIST_QUERY, NAME_PATTERN as NAME } from '../../api/contract.js';
import { type Routed, body, hungUp, sendError, startTask } from '../http.js';
import { noteAudit, register } from '../routing.js';

export async function backupRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'listBackups', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    for (const k of Object.keys(q))
      if (!(LIST_QUERY as readonly string[]).includes(k))
        return sendError(reply, 400, 'bad_request', `unknown query parameter ${k}`, `use ${LIST_QUERY.join(', ')}`);
    for (const k of ['kind', 'env', 'source', 'label'] as const)
      if (q[k] !== undefined && !NAME.test(q[k]!))
        return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    if (q.days !== undefined && !/^\d{1,5}$/.test(q.days))
      return sendError(reply, 400, 'bad_request', 'days must be a whole number');
    const backups = await r.hoard.list(
      {
        kind: q.kind,
        days: q.days === undefined ? undefined : Number(q.days),
        environment: q.env,
        source: q.source,
        label: q.label,
      },
      { signal: hungUp(reply) },
    );
    return { status: 'success', count: backups.length, backups };
  });

  register(app, 'getBackup', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id))
      return sendError(
        reply,
        400,
        'bad_request',
        'the id must be a snapshot id, a unique prefix, "latest" or a label',
        'letters, digits, . _ - only',
      );
    return { status: 'success', backup: await r.hoard.info(id, { signal: hungUp(reply) }) };
  });

  register(app, 'createBackup', async (req, reply) => {
    const b = body(req.body, 'createBackup', reply);
    if (!b) return reply;
    if (b.source && b.job) return sendError(reply, 400, 'bad_request', 'give a source or a job, not both');
    const names = [b.source ?? b.job].filter((x) => x !== undefined);
    const t = startTask(r, reply, 'backup', async (_report, signal) => {
      const out = await r.hoard.backup({
        sources: names,
        label: b.label,
        reason: b.reason,
        description: b.description,
        kind: b.kind,
        signal,
      });
      if (out.problem) throw out.problem; // as hoard backup's exit code: a failed backup or verification fails the task
      return { backups: out.created, copies: out.copies ?? [] };
    });
    if (!t) return reply;
    return reply.code(202).send({
      status: 'accepted',
      message: `backup of ${names[0] ?? 'every source'} started`,
      task_id: t.id,
      timestamp: t.started,
    });
  });

  register(app, 'deleteBackup', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id))
      return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    const confirm = (req.query as { confirm?: string }).confirm === 'true';
    const gone = await r.hoard.delete(id, { confirm });
    noteAudit(req, { backup: gone.id });
    return {
      status: 'success',
      message: `deleted backup ${gone.short_id}`,
      deleted_count: 1,
      deleted_files: [gone.id],
      timestamp: new Date(r.o.env.clock.now()).toISOString(),
    };
  });
}
