/**
 * GET /backups (the CLI's list filters) and GET /backups/:id: the library's list and info. They wait
 * for a running prune, as the CLI does; a client that hangs up stops its wait.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Hoard } from '../../app/hoard.js';
import { ID_PATTERN, NAME_PATTERN as NAME, LIST_QUERY } from '../../api/contract.js';
import { type ServerOptions, sendError } from '../http.js';
import { register } from '../routing.js';

/** Aborts when the client goes away before its answer is sent. */
function hungUp(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => { if (!reply.raw.writableEnded) ac.abort(); });
  return ac.signal;
}

export async function backupRoutes(app: FastifyInstance, _o: ServerOptions, hoard: Hoard): Promise<void> {
  register(app, 'listBackups', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    for (const k of Object.keys(q)) if (!(LIST_QUERY as readonly string[]).includes(k)) return sendError(reply, 400, 'bad_request', `unknown query parameter ${k}`, `use ${LIST_QUERY.join(', ')}`);
    for (const k of ['kind', 'env', 'source', 'label'] as const) if (q[k] !== undefined && !NAME.test(q[k]!)) return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    if (q.days !== undefined && !/^\d{1,5}$/.test(q.days)) return sendError(reply, 400, 'bad_request', 'days must be a whole number');
    const backups = await hoard.list({ kind: q.kind, days: q.days === undefined ? undefined : Number(q.days), environment: q.env, source: q.source, label: q.label }, { signal: hungUp(reply) });
    return { status: 'success', count: backups.length, backups };
  });

  register(app, 'getBackup', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix, "latest" or a label', 'letters, digits, . _ - only');
    return { status: 'success', backup: await hoard.info(id, { signal: hungUp(reply) }) };
  });
}
