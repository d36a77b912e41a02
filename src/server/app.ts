/**
 * The HTTP server (Fastify): the route table of src/api/contract.ts, bearer-token auth with scopes
 * (tokens stored hashed in hoard.yaml; `admin` implies every scope), a limit on failed attempts,
 * HoardError → JSON error mapping, and the routes, each a thin call into src/app.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { HoardError, isHoardError } from '../core/index.js';
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import { type ApiError, ROUTES, type Scope } from '../api/contract.js';
import { openApiDocument } from '../api/openapi.js';
import { appendFile } from 'node:fs/promises';
import * as path from 'node:path';
import { openHoard } from '../app/hoard.js';
import { createTaskManager } from '../app/task-manager.js';
import { backupRoutes } from './routes/backups.js';
import { statusRoutes } from './routes/status.js';
import { taskRoutes } from './routes/tasks.js';
import { actionRoutes } from './routes/actions.js';

export interface TokenConfig { name: string; hash: string; scopes: Scope[] }

export interface ServerOptions {
  project: Project;
  env: Env;
  tokens: TokenConfig[];
  version: string;
  /** Failed authentications allowed per client address and minute before 429. */
  maxFailuresPerMinute?: number;
  /** Aborts running tasks (a second SIGTERM); closing the server otherwise waits for them. */
  abort?: AbortSignal;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: Buffer; key: Buffer };
}

const STATUS: Partial<Record<string, number>> = { 'not-found': 404, usage: 400, config: 400, locked: 409, 'repo-missing': 503, 'wrong-password': 503 };

export function sendError(reply: FastifyReply, http: number, code: string, message: string, hint?: string): FastifyReply {
  const body: ApiError = { status: 'error', code, message, ...(hint ? { hint } : {}) };
  return reply.code(http).type('application/json').send(body);
}

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The configured token a presented one matches (constant-time), or undefined. */
function findToken(tokens: TokenConfig[], presented: string): TokenConfig | undefined {
  const h = tokenHash(presented);
  return tokens.find((t) => {
    const want = Buffer.from(t.hash.replace(/^sha256:/, ''), 'hex');
    return want.length === h.length && timingSafeEqual(want, h);
  });
}

/** Builds the server (not listening). */
export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = (o.tls ? Fastify({ logger: false, bodyLimit: 1 << 20, https: o.tls }) : Fastify({ logger: false, bodyLimit: 1 << 20 })) as unknown as FastifyInstance;
  app.removeContentTypeParser('text/plain'); // bodies are JSON only: anything else is a 415
  const failures = new Map<string, number[]>();
  const limit = o.maxFailuresPerMinute ?? 20;
  const scopeOf = new Map<string, Scope | null>(Object.values(ROUTES).map((r) => [`${r.method} ${r.path}`, r.scope]));

  const who = new WeakMap<FastifyRequest, string>();
  // every mutating call goes to the audit log: who, what, when, result
  const audit = path.join(o.project.dir, '.hoard', 'audit.log');
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const line = { at: new Date(o.env.clock.now()).toISOString(), token: who.get(req) ?? null, ip: req.ip, method: req.method, path: req.url.split('?')[0], status: reply.statusCode };
    await appendFile(audit, `${JSON.stringify(line)}\n`, { mode: 0o600 }).catch(() => {});
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const key = `${req.method} ${req.routeOptions.url ?? ''}`;
    if (!scopeOf.has(key)) return; // unknown routes fall through to the 404 handler
    const need = scopeOf.get(key);
    if (need === null) return;
    const now = o.env.clock.now();
    const recent = (failures.get(req.ip) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= limit) return sendError(reply, 429, 'too_many_requests', 'too many failed authentications from this address', 'wait a minute, then use a valid token');
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = m ? findToken(o.tokens, m[1]) : undefined;
    if (!token) {
      failures.set(req.ip, [...recent, now]);
      return sendError(reply, 401, 'unauthorized', m ? 'the token is not valid' : 'a bearer token is required', 'send Authorization: Bearer <token> (create one with `hoard token new`)');
    }
    who.set(req, token.name);
    if (!token.scopes.includes('admin') && !token.scopes.includes(need!)) {
      return sendError(reply, 403, 'forbidden', `the token ${token.name} lacks the ${need} scope`, `use a token with the ${need} scope`);
    }
  });

  app.setErrorHandler((e, _req, reply) => {
    if (isHoardError(e)) {
      if (e.context?.confirmation_required) return sendError(reply, 409, 'confirmation_required', e.message, 'send confirm: true (DELETE: ?confirm=true) once the target is checked');
      const http = STATUS[e.kind] ?? 500;
      return sendError(reply, http, http === 400 ? 'bad_request' : e.kind.replace(/-/g, '_'), e.message, e.hint);
    }
    const v = e as { validation?: unknown; statusCode?: number; message: string };
    if (v.validation || (v.statusCode && v.statusCode < 500)) {
      const http = v.statusCode ?? 400;
      return sendError(reply, http, http === 413 ? 'payload_too_large' : http === 415 ? 'unsupported_media_type' : 'bad_request', v.message, http === 400 ? 'send a JSON object' : undefined);
    }
    return sendError(reply, 500, 'internal', 'internal error', 'see the server log');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));

  app.get(ROUTES.healthz.path, async () => ({ status: 'ok', version: o.version }));
  const doc = openApiDocument(o.version);
  app.get(ROUTES.openapi.path, async () => doc);
  await backupRoutes(app, o);
  await statusRoutes(app, o);
  const hoard = await openHoard({ cwd: o.project.dir, config: o.project.loaded?.file, vars: o.env.vars, clock: o.env.clock, programVersion: `hoard ${o.version}` });
  const tasks = createTaskManager(() => o.env.clock.now());
  // closing waits for running tasks (no task outlives its server); o.abort cuts them short
  app.addHook('onClose', async () => { await tasks.settled(); });
  o.abort?.addEventListener('abort', () => tasks.abort(), { once: true });
  await actionRoutes(app, o, hoard, tasks);
  await taskRoutes(app, o, hoard, tasks);
  return app;
}

export { HoardError };
