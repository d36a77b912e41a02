/**
 * Route registration from the contract. Every route is registered by its contract name, which
 * travels in the route's config (auth.ts reads the scope from it); registering a route that the
 * contract does not declare, or under another method or path, throws at start-up. So a route
 * cannot exist without a scope, and a request can only reach a handler through a declared pair.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ROUTES, type RouteName } from '../api/contract.js';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;

/** Called with the route's name each time one of its handlers starts (tests count these). */
export type HandlerObserver = (route: RouteName) => void;

const observers = new WeakMap<FastifyInstance, HandlerObserver>();

/** Refuses, at registration, any route that is not the contract's. Call before registering routes. */
export function guardRoutes(app: FastifyInstance, observe?: HandlerObserver): void {
  if (observe) observers.set(app, observe);
  app.addHook('onRoute', (opts) => {
    const name = (opts.config as { route?: unknown } | undefined)?.route;
    const declared = typeof name === 'string' && Object.hasOwn(ROUTES, name) ? ROUTES[name as RouteName] : undefined;
    const methods = [opts.method].flat();
    if (!declared || methods.length !== 1 || methods[0] !== declared.method || opts.url !== declared.path) {
      throw new Error(`route ${methods.join(',')} ${opts.url} is not declared in src/api/contract.ts`);
    }
  });
}

/** Registers the contract's route `name` with `handler`. */
export function register(app: FastifyInstance, name: RouteName, handler: Handler): void {
  const r = ROUTES[name];
  const observe = observers.get(app);
  app.route({
    method: r.method,
    url: r.path,
    config: { route: name },
    handler: observe
      ? (req, reply) => {
          observe(name);
          return handler(req, reply);
        }
      : handler,
  });
}

const notes = new WeakMap<FastifyRequest, Record<string, unknown>>();

/** Adds fields (a restore's target, a download's backup) to the request's audit line. */
export function noteAudit(req: FastifyRequest, fields: Record<string, unknown>): void {
  notes.set(req, { ...notes.get(req), ...fields });
}

/** The fields noted for the request's audit line. */
export function auditNotes(req: FastifyRequest): Record<string, unknown> {
  return notes.get(req) ?? {};
}
