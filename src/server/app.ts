/**
 * The HTTP server (Fastify): the routes of src/api/contract.ts and nothing else (routing.ts),
 * bearer-token auth decided from the matched route (auth.ts; deny by default, HEAD and OPTIONS
 * included), an audit log, a cap on running tasks and downloads, HoardError → JSON error mapping,
 * and the routes, each a thin call into src/app.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { HoardError, isHoardError } from '../core/index.js';
import { openApiDocument } from '../api/openapi.js';
import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createHoard } from '../app/hoard.js';
import { createTaskManager } from '../app/task-manager.js';
import { FailureLimiter, authorize, refuse, routeOf } from './auth.js';
import { auditNotes, guardRoutes, register } from './routing.js';
import { type ServerOptions, sendError, slots } from './http.js';
import { backupRoutes } from './routes/backups.js';
import { cleanupRoutes } from './routes/cleanup.js';
import { downloadRoutes } from './routes/downloads.js';
import { restoreRoutes } from './routes/restores.js';
import { statusRoutes } from './routes/status.js';
import { taskRoutes } from './routes/tasks.js';
import { verificationRoutes } from './routes/verifications.js';

export type { TokenConfig } from './auth.js';
export type { ServerOptions } from './http.js';

const STATUS: Partial<Record<string, number>> = {
  'not-found': 404,
  usage: 400,
  config: 400,
  locked: 409,
  'repo-missing': 503,
  'wrong-password': 503,
  'not-allowed': 403,
};

/** Whether a request goes to the audit log: every call that changes or takes data, and every refusal. */
function audited(req: FastifyRequest, status: number): boolean {
  return !['GET', 'HEAD'].includes(req.method) || routeOf(req) === 'download' || [401, 403, 429].includes(status);
}

function auditLog(app: FastifyInstance, o: ServerOptions, who: WeakMap<FastifyRequest, string>): void {
  const file = path.join(o.project.dir, '.hoard', 'audit.log');
  // a project whose repository is elsewhere may have no .hoard yet: the log must not go missing
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  app.addHook('onResponse', async (req, reply) => {
    if (!audited(req, reply.statusCode)) return;
    const line = {
      at: new Date(o.env.clock.now()).toISOString(),
      token: who.get(req) ?? null,
      ip: req.ip,
      method: req.method,
      path: req.url.split('?')[0],
      route: routeOf(req) ?? null,
      status: reply.statusCode,
      ...auditNotes(req),
    };
    await appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 }).catch(() => {});
  });
}

function errorHandling(app: FastifyInstance): void {
  app.setErrorHandler((e, _req, reply) => {
    if (isHoardError(e)) {
      if (e.context?.confirmation_required)
        return sendError(
          reply,
          409,
          'confirmation_required',
          e.message,
          'send confirm: true (DELETE: ?confirm=true) once the target is checked',
        );
      const http = STATUS[e.kind] ?? 500;
      return sendError(reply, http, http === 400 ? 'bad_request' : e.kind.replace(/-/g, '_'), e.message, e.hint);
    }
    const v = e as { validation?: unknown; statusCode?: number; message: string };
    if (v.validation || (v.statusCode && v.statusCode < 500)) {
      const http = v.statusCode ?? 400;
      return sendError(
        reply,
        http,
        http === 413 ? 'payload_too_large' : http === 415 ? 'unsupported_media_type' : 'bad_request',
        v.message,
        http === 400 ? 'send a JSON object' : undefined,
      );
    }
    return sendError(reply, 500, 'internal', 'internal error', 'see the server log');
  });
  // only reached by requests the auth hook let through, which matched a route: a safety net
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
}

/** Builds the server (not listening). */
export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  // HEAD is not answered for GET routes: it is not in the contract, so it is refused like any undeclared pair
  const base = { logger: false, bodyLimit: 1 << 20, exposeHeadRoutes: false };
  const app = (o.tls ? Fastify({ ...base, https: o.tls }) : Fastify(base)) as unknown as FastifyInstance;
  app.removeContentTypeParser('text/plain'); // bodies are JSON only: anything else is a 415
  const limiter = new FailureLimiter(o.maxFailuresPerMinute ?? 20);
  const who = new WeakMap<FastifyRequest, string>();
  auditLog(app, o, who);
  app.addHook('onRequest', async (req, reply) => {
    const d = authorize(req, { tokens: o.tokens, limiter, now: () => o.env.clock.now() });
    if (d.token) who.set(req, d.token);
    if (!d.ok) return refuse(reply, d.refusal);
  });
  errorHandling(app);
  guardRoutes(app, o.onHandler);
  register(app, 'healthz', async () => ({ status: 'ok', version: o.version }));
  const doc = openApiDocument(o.version);
  register(app, 'openapi', async () => doc);
  const hoard = createHoard({ ...o.env, isTTY: false }, o.project, `hoard ${o.version}`); // a request never prompts for a password
  const tasks = createTaskManager(() => o.env.clock.now());
  // closing waits for running tasks (no task outlives its server); o.abort cuts them short
  app.addHook('onClose', async () => {
    await tasks.settled();
  });
  o.abort?.addEventListener('abort', () => tasks.abort(), { once: true });
  const routed = { o, hoard, tasks, busy: slots(o.maxTasks ?? 4) };
  for (const routes of [
    backupRoutes,
    downloadRoutes,
    restoreRoutes,
    cleanupRoutes,
    verificationRoutes,
    taskRoutes,
    statusRoutes,
  ])
    await routes(app, routed);
  return app;
}

export { HoardError };
