/**
 * What the server and its route files share: the options it is built with, the API's JSON error
 * reply and the slots that cap running tasks and downloads. Routes import this, never app.ts, so
 * the server and its routes do not import each other.
 */
import type { FastifyReply } from 'fastify';
import { redact } from '../core/index.js';
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import type { ApiError } from '../api/contract.js';
import type { TokenConfig } from './auth.js';
import type { HandlerObserver } from './routing.js';

export interface ServerOptions {
  project: Project;
  env: Env;
  tokens: TokenConfig[];
  version: string;
  /** Failed authentications allowed per client address and minute before 429. */
  maxFailuresPerMinute?: number;
  /** Tasks (backup, restore, verify, cleanup) and downloads running at once before 429 (default 4). */
  maxTasks?: number;
  /** Aborts running tasks (a second SIGTERM); closing the server otherwise waits for them. */
  abort?: AbortSignal;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: Buffer; key: Buffer };
  /** Called as each route handler starts (the tests count them). */
  onHandler?: HandlerObserver;
}

/** Sends the API's JSON error; message and hint pass through the one redaction (a tool's stderr may quote a secret). */
export function sendError(reply: FastifyReply, http: number, code: string, message: string, hint?: string): FastifyReply {
  const body: ApiError = { status: 'error', code, message: redact(message), ...(hint ? { hint: redact(hint) } : {}) };
  return reply.code(http).type('application/json').send(body);
}

/** Work that holds a slot: a task or a download. `take` answers 429 and returns false when none is free. */
export interface Slots { take(reply: FastifyReply): boolean; give(): void }

/** `max` slots for tasks and downloads. */
export function slots(max: number): Slots {
  let used = 0;
  return {
    take(reply) {
      if (used >= max) { void sendError(reply, 429, 'too_many_tasks', `${max} tasks and downloads are running already`, 'retry when one has finished (server.max_tasks raises the limit)'); return false; }
      used++;
      return true;
    },
    give() { used = Math.max(0, used - 1); },
  };
}
