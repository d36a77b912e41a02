/** POST /backups (a task), DELETE /backups/:id, GET /backups/:id/download, GET /tasks/:id and its events (SSE). */
import type { FastifyInstance } from 'fastify';
import { type ArtifactFormat, openArtifact } from '../../app/artifact.js';
import type { Hoard } from '../../app/hoard.js';
import type { TaskManager } from '../../app/task-manager.js';
import { BODY_FIELDS, ID_PATTERN, NAME_PATTERN as NAME, ROUTES } from '../../api/contract.js';
import { body } from './actions.js';
import { type ServerOptions, sendError } from '../app.js';

const TEXT = /^[^\u0000-\u001f]{0,500}$/;

export async function taskRoutes(app: FastifyInstance, o: ServerOptions, hoard: Hoard, tasks: TaskManager): Promise<void> {
  app.post(ROUTES.createBackup.path, async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.createBackup, reply);
    if (!b) return reply;
    for (const k of ['source', 'job', 'label', 'kind']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !NAME.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    for (const k of ['reason', 'description']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !TEXT.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be text of at most 500 characters`);
    if (b.source && b.job) return sendError(reply, 400, 'bad_request', 'give a source or a job, not both');
    const names = [b.source ?? b.job].filter((x): x is string => typeof x === 'string');
    const t = tasks.start('backup', async (_report, signal) => {
      const r = await hoard.backup({ sources: names, label: b.label as string | undefined, reason: b.reason as string | undefined, description: b.description as string | undefined, kind: b.kind as string | undefined, signal });
      if (r.failed.length) throw r.failed[0].error;
      return { backups: r.created, copies: r.copies ?? [] };
    });
    return reply.code(202).send({ status: 'accepted', message: `backup of ${names[0] ?? 'every source'} started`, task_id: t.id, timestamp: t.started });
  });

  app.delete(ROUTES.deleteBackup.path, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    const confirm = (req.query as { confirm?: string }).confirm === 'true';
    const gone = await hoard.delete(id, { confirm });
    return { status: 'success', message: `deleted backup ${gone.short_id}`, deleted_count: 1, deleted_files: [gone.id], timestamp: new Date(o.env.clock.now()).toISOString() };
  });

  app.get(ROUTES.download.path, async (req, reply) => {
    const { id } = req.params as { id: string };
    const format = (req.query as { format?: string }).format ?? 'raw';
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    if (!['raw', 'gz', 'zstd'].includes(format)) return sendError(reply, 400, 'bad_request', 'format must be raw, gz or zstd');
    const a = await openArtifact(o.env, o.project, id, format as ArtifactFormat);
    // a client that goes away ends the stream, which releases the lock
    reply.raw.on('close', () => { if (!a.stream.readableEnded) a.stream.destroy(); });
    return reply.header('content-disposition', `attachment; filename="${a.filename}"`).type('application/octet-stream').send(a.stream);
  });

  app.get(ROUTES.getTask.path, async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = /^[0-9a-f]{16}$/.test(id) ? tasks.get(id) : undefined;
    if (!t) return sendError(reply, /^[0-9a-f]{16}$/.test(id) ? 404 : 400, /^[0-9a-f]{16}$/.test(id) ? 'not_found' : 'bad_request', `no task ${id}`);
    return { status: 'success', task: t };
  });

  app.get(ROUTES.taskEvents.path, (req, reply) => {
    const { id } = req.params as { id: string };
    if (!/^[0-9a-f]{16}$/.test(id) || !tasks.get(id)) { void sendError(reply, 404, 'not_found', `no task ${id}`); return; }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const off = tasks.follow(id, (e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`), () => res.end());
    req.raw.on('close', () => off?.());
  });
}
