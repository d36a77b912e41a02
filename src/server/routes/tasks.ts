/**
 * POST /backups (a task), DELETE /backups/:id, GET /backups/:id/download (audited, holding a task
 * slot while it streams), GET /tasks/:id and its events (SSE).
 */
import type { FastifyInstance } from 'fastify';
import { type ArtifactFormat, openArtifact } from '../../app/artifact.js';
import type { Hoard } from '../../app/hoard.js';
import type { TaskManager } from '../../app/task-manager.js';
import { BODY_FIELDS, ID_PATTERN, NAME_PATTERN as NAME } from '../../api/contract.js';
import { body, startTask } from './actions.js';
import { type ServerOptions, type Slots, sendError } from '../http.js';
import { noteAudit, register } from '../routing.js';

const TEXT = /^[^\u0000-\u001f]{0,500}$/;

/**
 * The Content-Disposition of a download (RFC 6266 with RFC 8187): a quoted ASCII stand-in, and the
 * exact name percent-encoded as UTF-8, so that no character of a name taken from the repository
 * can end the parameter or break the header.
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_') || 'download';
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

export async function taskRoutes(app: FastifyInstance, o: ServerOptions, hoard: Hoard, tasks: TaskManager, busy: Slots): Promise<void> {
  register(app, 'createBackup', async (req, reply) => {
    const b = body(req.body, BODY_FIELDS.createBackup, reply);
    if (!b) return reply;
    for (const k of ['source', 'job', 'label', 'kind']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !NAME.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    for (const k of ['reason', 'description']) if (b[k] !== undefined && (typeof b[k] !== 'string' || !TEXT.test(b[k] as string))) return sendError(reply, 400, 'bad_request', `${k} must be text of at most 500 characters`);
    if (b.source && b.job) return sendError(reply, 400, 'bad_request', 'give a source or a job, not both');
    const names = [b.source ?? b.job].filter((x): x is string => typeof x === 'string');
    const t = startTask(tasks, busy, reply, 'backup', async (_report, signal) => {
      const r = await hoard.backup({ sources: names, label: b.label as string | undefined, reason: b.reason as string | undefined, description: b.description as string | undefined, kind: b.kind as string | undefined, signal });
      if (r.problem) throw r.problem; // as hoard backup's exit code: a failed backup or verification fails the task
      return { backups: r.created, copies: r.copies ?? [] };
    });
    if (!t) return reply;
    return reply.code(202).send({ status: 'accepted', message: `backup of ${names[0] ?? 'every source'} started`, task_id: t.id, timestamp: t.started });
  });

  register(app, 'deleteBackup', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    const confirm = (req.query as { confirm?: string }).confirm === 'true';
    const gone = await hoard.delete(id, { confirm });
    noteAudit(req, { backup: gone.id });
    return { status: 'success', message: `deleted backup ${gone.short_id}`, deleted_count: 1, deleted_files: [gone.id], timestamp: new Date(o.env.clock.now()).toISOString() };
  });

  register(app, 'download', async (req, reply) => {
    const { id } = req.params as { id: string };
    const format = (req.query as { format?: string }).format ?? 'raw';
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    if (!['raw', 'gz', 'zstd'].includes(format)) return sendError(reply, 400, 'bad_request', 'format must be raw, gz or zstd');
    if (!busy.take(reply)) return reply;
    let a: Awaited<ReturnType<typeof openArtifact>>;
    try {
      a = await openArtifact(o.env, o.project, id, format as ArtifactFormat);
    } catch (e) {
      busy.give();
      throw e;
    }
    noteAudit(req, { backup: a.snapshotId, file: a.filename, format });
    // a client that goes away ends the stream, which releases the lock (and the slot)
    reply.raw.on('close', () => { busy.give(); if (!a.stream.readableEnded) a.stream.destroy(); });
    return reply.header('content-disposition', contentDisposition(a.filename)).type('application/octet-stream').send(a.stream);
  });

  register(app, 'getTask', async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = /^[0-9a-f]{16}$/.test(id) ? tasks.get(id) : undefined;
    if (!t) return sendError(reply, /^[0-9a-f]{16}$/.test(id) ? 404 : 400, /^[0-9a-f]{16}$/.test(id) ? 'not_found' : 'bad_request', `no task ${id}`);
    return { status: 'success', task: t };
  });

  register(app, 'taskEvents', (req, reply) => {
    const { id } = req.params as { id: string };
    if (!/^[0-9a-f]{16}$/.test(id) || !tasks.get(id)) { void sendError(reply, 404, 'not_found', `no task ${id}`); return; }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const off = tasks.follow(id, (e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`), () => res.end());
    req.raw.on('close', () => off?.());
  });
}
