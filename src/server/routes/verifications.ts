/** POST /backups/:id/verify: a verification task (quick, read-back or drill) over the library's verify. */
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN } from '../../api/contract.js';
import { type Routed, accepted, body, sendError, startTask } from '../http.js';
import { register } from '../routing.js';

export async function verificationRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'verify', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id))
      return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix, "latest" or a label');
    const b = body(req.body, 'verify', reply);
    if (!b) return reply;
    const level = b.level ?? 'read-back';
    const t = startTask(r, reply, 'verify', async () => {
      const [out] = await r.hoard.verify({
        ref: id,
        level,
        subset: b.subset,
        trigger: 'api',
      });
      return {
        ok: out.ok,
        level: out.level,
        message: out.message,
        checks: out.checks,
        affected: out.affected,
        snapshot_id: out.backup.id,
      };
    });
    return t ? accepted(reply, `${level} verification started`, t) : reply;
  });
}
