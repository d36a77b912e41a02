/**
 * Who may call what. Authorization is decided from the matched route itself: every route the
 * server registers carries its contract name in its route config (routing.ts), and the contract
 * gives its scope. A request that matched no declared route (an unknown path, a method the route
 * does not declare, HEAD, OPTIONS) is refused before anything else runs: 401 without a valid token
 * (so unauthenticated callers learn nothing about routes), else 404. Tokens are stored hashed and
 * compared in constant time; `admin` implies every scope.
 *
 * Failed attempts are limited per client address (a sliding minute), but a valid token always
 * passes: the limit slows guessing, it does not lock out the address's legitimate clients. The
 * record forgets addresses whose failures are older than the window and holds at most
 * `MAX_ADDRESSES` of them, so a flood from many addresses cannot grow it without bound.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROUTES, type RouteName, type Scope } from '../api/contract.js';

export { SCOPES, type Scope } from '../api/contract.js';

export interface TokenConfig {
  name: string;
  hash: string;
  scopes: Scope[];
}

const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

/** The configured token a presented one matches (constant-time), or undefined. */
export function findToken(tokens: TokenConfig[], presented: string): TokenConfig | undefined {
  const h = createHash('sha256').update(presented).digest();
  return tokens.find((t) => {
    const want = Buffer.from(t.hash.replace(/^sha256:/, ''), 'hex');
    return want.length === h.length && timingSafeEqual(want, h);
  });
}

/** True when the token holds `need` (admin holds every scope). */
export function allows(t: TokenConfig, need: Scope): boolean {
  return t.scopes.includes('admin') || t.scopes.includes(need);
}

/** Failed authentications per client address over the last minute. */
export class FailureLimiter {
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = WINDOW_MS,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /** True when `ip` has used up its failed attempts for now. */
  limited(ip: string, now: number): boolean {
    return this.live(ip, now).length >= this.limit;
  }

  /** Records a failed attempt from `ip`. */
  fail(ip: string, now: number): void {
    const list = this.live(ip, now);
    this.recent.delete(ip); // re-inserted last: the map's order is oldest activity first
    this.recent.set(ip, [...list, now]);
    if (this.recent.size > this.maxAddresses) this.sweep(now);
  }

  /** Addresses tracked now (for tests). */
  get size(): number {
    return this.recent.size;
  }

  private live(ip: string, now: number): number[] {
    const list = (this.recent.get(ip) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length === 0) this.recent.delete(ip);
    return list;
  }

  /** Forgets quiet addresses, then the least recently active ones beyond the cap. */
  private sweep(now: number): void {
    for (const ip of [...this.recent.keys()]) this.live(ip, now);
    for (const ip of this.recent.keys()) {
      if (this.recent.size <= this.maxAddresses) break;
      this.recent.delete(ip);
    }
  }
}

/** The contract route a request matched, or undefined when it matched none (routing.ts puts the name in the route's config). */
export function routeOf(req: FastifyRequest): RouteName | undefined {
  const name = (req.routeOptions.config as { route?: unknown } | undefined)?.route;
  return typeof name === 'string' && Object.hasOwn(ROUTES, name) ? (name as RouteName) : undefined;
}

export interface Refusal {
  http: 401 | 403 | 404 | 429;
  code: string;
  message: string;
  hint: string;
}

/** What the auth hook decided: the token's name (null for open routes), or a refusal. */
export type Decision = { ok: true; token: string | null } | { ok: false; refusal: Refusal; token: string | null };

export interface AuthOptions {
  tokens: TokenConfig[];
  limiter: FailureLimiter;
  now: () => number;
}

const NEW_TOKEN = 'send Authorization: Bearer <token> (create one with `hoard token new`)';

/** Decides one request. Pure apart from the limiter's record. */
export function authorize(req: FastifyRequest, o: AuthOptions): Decision {
  const route = routeOf(req);
  const need = route === undefined ? undefined : ROUTES[route].scope;
  if (route !== undefined && need === null) return { ok: true, token: null };
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const token = m ? findToken(o.tokens, m[1]) : undefined;
  if (!token) {
    const now = o.now();
    if (o.limiter.limited(req.ip, now)) {
      return {
        ok: false,
        token: null,
        refusal: {
          http: 429,
          code: 'too_many_requests',
          message: 'too many failed authentications from this address',
          hint: 'wait a minute, then use a valid token',
        },
      };
    }
    o.limiter.fail(req.ip, now);
    return {
      ok: false,
      token: null,
      refusal: {
        http: 401,
        code: 'unauthorized',
        message: m ? 'the token is not valid' : 'a bearer token is required',
        hint: NEW_TOKEN,
      },
    };
  }
  const path = req.url.split('?')[0];
  if (route === undefined || need === undefined) {
    return {
      ok: false,
      token: token.name,
      refusal: {
        http: 404,
        code: 'not_found',
        message: `no route ${req.method} ${path}`,
        hint: 'see GET /openapi.json for the routes',
      },
    };
  }
  if (!allows(token, need!)) {
    return {
      ok: false,
      token: token.name,
      refusal: {
        http: 403,
        code: 'forbidden',
        message: `the token ${token.name} lacks the ${need} scope`,
        hint: `use a token with the ${need} scope`,
      },
    };
  }
  return { ok: true, token: token.name };
}

/** Sends a refusal as the API's JSON error. */
export function refuse(reply: FastifyReply, r: Refusal): FastifyReply {
  return reply
    .code(r.http)
    .type('application/json')
    .send({ status: 'error', code: r.code, message: r.message, hint: r.hint });
}
