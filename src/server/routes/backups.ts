/** GET /backups (the CLI's list filters) and GET /backups/:id: thin calls into src/app. */
import type { FastifyInstance } from 'fastify';
import { type SnapshotEntry, type VerificationRecord, listSnapshots, loadVerifications } from '../../core/index.js';
import { openFromEnv } from '../../app/repository-access.js';
import { chooseSnapshot, queryBackups } from '../../app/select.js';
import { toRecord } from '../../app/snapshot-view.js';
import { ID_PATTERN, NAME_PATTERN as NAME, LIST_QUERY } from '../../api/contract.js';
import { type ServerOptions, sendError } from '../app.js';
import { register } from '../routing.js';

/** The repository's snapshots and verification records (the repository is opened per request). */
export async function catalog(o: ServerOptions): Promise<{ list: SnapshotEntry[]; verifications: VerificationRecord[] }> {
  const repo = await openFromEnv(o.env, { project: o.project, index: false });
  try {
    return { list: (await listSnapshots(repo)).snapshots, verifications: await loadVerifications(repo) };
  } finally {
    await repo.close();
  }
}


export async function backupRoutes(app: FastifyInstance, o: ServerOptions): Promise<void> {
  register(app, 'listBackups', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    for (const k of Object.keys(q)) if (!(LIST_QUERY as readonly string[]).includes(k)) return sendError(reply, 400, 'bad_request', `unknown query parameter ${k}`, `use ${LIST_QUERY.join(', ')}`);
    for (const k of ['kind', 'env', 'source', 'label'] as const) if (q[k] !== undefined && !NAME.test(q[k]!)) return sendError(reply, 400, 'bad_request', `${k} must be a name (letters, digits, . _ -)`);
    if (q.days !== undefined && !/^\d{1,5}$/.test(q.days)) return sendError(reply, 400, 'bad_request', 'days must be a whole number');
    const { list, verifications } = await catalog(o);
    const now = o.env.clock.now();
    const backups = queryBackups(list, { kind: q.kind, days: q.days === undefined ? undefined : Number(q.days), environment: q.env, source: q.source, label: q.label }, now).map((e) => toRecord(e, verifications));
    return { status: 'success', count: backups.length, backups };
  });

  register(app, 'getBackup', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_PATTERN.test(id)) return sendError(reply, 400, 'bad_request', 'the id must be a snapshot id, a unique prefix, "latest" or a label', 'letters, digits, . _ - only');
    const { list, verifications } = await catalog(o);
    return { status: 'success', backup: toRecord(chooseSnapshot(list, { ref: id }, o.env.clock.now()), verifications) };
  });
}
