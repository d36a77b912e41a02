/**
 * What the server and its route files share: the options it is built with, the API's JSON error
 * reply, the slots that cap running tasks and downloads, and the body and task helpers. Routes import this, never app.ts, so
 * the server and its routes do not import each other.
 */
import type { FastifyReply } from 'fastify';
import { type HoardEvent, redact } from '../core/index.js';
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type ApiError, BODY_FIELDS, NAME_PATTERN, type RequestBodies } from '../api/contract.js';
import { REQUEST_BODIES } from '../api/openapi.js';
import type { Hoard } from '../app/hoard.js';
import type { TaskManager, TaskView } from '../app/task-manager.js';
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
export function sendError(
  reply: FastifyReply,
  http: number,
  code: string,
  message: string,
  hint?: string,
): FastifyReply {
  const body: ApiError = { status: 'error', code, message: redact(message), ...(hint ? { hint: redact(hint) } : {}) };
  return reply.code(http).type('application/json').send(body);
}

/** Work that holds a slot: a task or a download. `take` answers 429 and returns false when none is free. */
export interface Slots {
  take(reply: FastifyReply): boolean;
  give(): void;
}

/** `max` slots for tasks and downloads. */
export function slots(max: number): Slots {
  let used = 0;
  return {
    take(reply) {
      if (used >= max) {
        void sendError(
          reply,
          429,
          'too_many_tasks',
          `${max} tasks and downloads are running already`,
          'retry when one has finished (server.max_tasks raises the limit)',
        );
        return false;
      }
      used++;
      return true;
    },
    give() {
      used = Math.max(0, used - 1);
    },
  };
}

/** What every route file is given: the server's options, the library object, the tasks and their slots. */
export interface Routed {
  o: ServerOptions;
  hoard: Hoard;
  tasks: TaskManager;
  busy: Slots;
}

/** One compiled validator per request body, from the schemas the OpenAPI document shows. */
const ajv = new Ajv({ allErrors: false, strict: false });
const validators = Object.fromEntries(
  Object.entries(REQUEST_BODIES).map(([route, schema]) => [route, ajv.compile(schema)]),
) as Record<keyof RequestBodies, ValidateFunction>;

/** The one-line message (and hint) of a body's first schema violation. */
function violation(e: ErrorObject, route: keyof RequestBodies): { message: string; hint?: string } {
  const field = e.instancePath.split('/')[1];
  if (e.keyword === 'additionalProperties')
    return {
      message: `unknown field ${String(e.params.additionalProperty)}`,
      hint: `use ${BODY_FIELDS[route].join(', ')}`,
    };
  if (!field) return { message: 'the body must be a JSON object' };
  if (e.keyword === 'pattern' && e.params.pattern === NAME_PATTERN.source)
    return { message: `${field} must be a name (letters, digits, . _ -)` };
  if (e.keyword === 'pattern') return { message: `${field} holds characters or a length it may not have` };
  return { message: `${field}${e.instancePath.split('/').length > 2 ? ' item' : ''} ${e.message ?? 'is not valid'}` };
}

/**
 * The body of `route`, checked against its JSON Schema (an absent body is an empty object); sends
 * 400 naming the first problem and returns undefined when it does not fit.
 */
export function body<R extends keyof RequestBodies>(
  raw: unknown,
  route: R,
  reply: FastifyReply,
): RequestBodies[R] | undefined {
  const b = raw ?? {};
  const validate = validators[route];
  if (validate(b)) return b as RequestBodies[R];
  const v = violation(validate.errors![0], route);
  void sendError(reply, 400, 'bad_request', v.message, v.hint);
  return undefined;
}

/** Starts a task in a free slot (given back when it ends); sends 429 and returns undefined when none is free. */
export function startTask(
  r: Routed,
  reply: FastifyReply,
  kind: string,
  work: (report: (e: HoardEvent) => void, signal: AbortSignal) => Promise<unknown>,
): TaskView | undefined {
  if (!r.busy.take(reply)) return undefined;
  return r.tasks.start(kind, (report, signal) => work(report, signal).finally(() => r.busy.give()));
}

/** The 202 answer to a started task. */
export const accepted = (reply: FastifyReply, message: string, t: { id: string; started: string }) =>
  reply.code(202).send({ status: 'accepted', message, task_id: t.id, timestamp: t.started });

/** Aborts when the client goes away before its answer is sent. */
export function hungUp(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) ac.abort();
  });
  return ac.signal;
}
