/** GET /tasks/:id (a task and its result) and GET /tasks/:id/events (its progress as server-sent events). */
import type { FastifyInstance } from 'fastify';
import { type Routed, sendError } from '../http.js';
import { register } from '../routing.js';

export async function taskRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'getTask', async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = /^[0-9a-f]{16}$/.test(id) ? r.tasks.get(id) : undefined;
    if (!t)
      return sendError(
        reply,
        /^[0-9a-f]{16}$/.test(id) ? 404 : 400,
        /^[0-9a-f]{16}$/.test(id) ? 'not_found' : 'bad_request',
        `no task ${id}`,
      );
    return { status: 'success', task: t };
  });

  register(app, 'taskEvents', (req, reply) => {
    const { id } = req.params as { id: string };
    if (!/^[0-9a-f]{16}$/.test(id) || !r.tasks.get(id)) {
      void sendError(reply, 404, 'not_found', `no task ${id}`);
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const off = r.tasks.follow(
      id,
      (e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`),
      () => res.end(),
    );
    req.raw.on('close', () => off?.());
  });
}
