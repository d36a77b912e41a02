/**
 * GET /backups/:id/download: a backup's one file as a stream (raw, gz or zstd), audited, holding a
 * task slot while it streams; a client that goes away ends the stream, its lock and its slot.
 */
import type { FastifyInstance } from 'fastify';
import { type ArtifactFormat, openArtifact } from '../../app/artifact.js';
import { ID_PATTERN } from '../../api/contract.js';
import { type Routed, sendError } from '../http.js';
import { noteAudit, register } from '../routing.js';

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

export async function downloadRoutes(app: FastifyInstance, r: Routed): Promise<void> {
  register(app, 'download', async (req, reply) => {
    const { id } = req.params as { id: string };
    const format = (req.query as { format?: string }).format ?? 'raw';
    if (!ID_PATTERN.test(id))
      return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix or a label');
    if (!['raw', 'gz', 'zstd'].includes(format))
      return sendError(reply, 400, 'bad_request', 'format must be raw, gz or zstd');
    if (!r.busy.take(reply)) return reply;
    let a: Awaited<ReturnType<typeof openArtifact>>;
    try {
      a = await openArtifact(r.o.env, r.o.project, id, format as ArtifactFormat);
    } catch (e) {
      r.busy.give();
      throw e;
    }
    noteAudit(req, { backup: a.snapshotId, file: a.filename, format });
    // a client that goes away ends the stream, which releases the lock (and the slot)
    reply.raw.on('close', () => {
      r.busy.give();
      if (!a.stream.readableEnded) a.stream.destroy();
    });
    return reply
      .header('content-disposition', contentDisposition(a.filename))
      .type('application/octet-stream')
      .send(a.stream);
  });
}
