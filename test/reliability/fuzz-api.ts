/**
 * Fuzzing the REST API over a real socket: mutated and random request bodies for every POST route,
 * random ids in paths and random query strings, sent with an admin token to a running `hoard serve`.
 * Every answer must be a 2xx, or a 4xx with the JSON error shape (status, code, message) and no
 * stack trace; a 5xx, a non-JSON error, a dropped connection or an answer slower than HANG_MS is a
 * crash. Restores are always dry runs (a mutated body must never write somewhere on this machine),
 * and so are cleanups: a real one prunes under the exclusive lock, which reads rightly wait for
 * (GET /backups waits for a prune as `hoard list` does), so it would pass for a hang.
 */
import { prng } from '../helpers/data.js';
import { mutate } from './mutate.js';
import { type FuzzFigures, HANG_MS } from './fuzz.js';

const BODIES: [path: string, body: Record<string, unknown>][] = [
  ['/backups', { source: 'app', label: 'fuzz', reason: 'r', description: 'd', kind: 'manual' }],
  ['/backups/restore', { latest: true, source: 'app', dry_run: true }],
  [
    '/backups/restore',
    {
      id: 'latest',
      name: 'x',
      at: '2026-11-30T04:00:00Z',
      target: 'copy.db',
      target_db: 'db',
      confirm: false,
      dry_run: true,
    },
  ],
  [
    '/backups/cleanup',
    {
      dry_run: true,
      older_than_days: 30,
      source: 'app',
      keep_last: 3,
      keep_daily: 7,
      keep_weekly: 4,
      keep_monthly: 6,
      allow_empty: false,
    },
  ],
  ['/backups/latest/verify', { level: 'quick', subset: 0.1 }],
];
const GETS = ['/backups', '/backups/latest', '/backups/latest/download', '/tasks/0000000000000000', '/status'];
const QUERY = 'kind=manual&days=7&env=production&source=app&label=fuzz';

export interface ApiCall {
  method: string;
  path: string;
  body?: Buffer;
}

/** The `i`-th request of a seeded sequence. */
export function apiCall(r: () => number, i: number): ApiCall {
  const choice = i % 4;
  if (choice < 2) {
    const [p, b] = BODIES[Math.floor(r() * BODIES.length)];
    const seed = Buffer.from(JSON.stringify(b));
    let body = mutate(r, seed, b);
    if (p === '/backups/restore' || p === '/backups/cleanup') body = forceDryRun(body);
    return { method: 'POST', path: p, body };
  }
  const word = encodeURIComponent(mutate(r, Buffer.from('latest')).toString('latin1'));
  if (choice === 2) return { method: r() < 0.5 ? 'GET' : 'DELETE', path: `/backups/${word}` };
  const q = mutate(r, Buffer.from(QUERY)).toString('latin1').replace(/[#\s]/g, '');
  return { method: 'GET', path: `${GETS[Math.floor(r() * GETS.length)]}?${encodeURI(q)}` };
}

/** A restore or cleanup body made a dry run when it is a JSON object (anything else is refused anyway). */
function forceDryRun(b: Buffer): Buffer {
  try {
    const j = JSON.parse(b.toString());
    if (j && typeof j === 'object' && !Array.isArray(j)) return Buffer.from(JSON.stringify({ ...j, dry_run: true }));
  } catch {
    /* not JSON: sent as it is */
  }
  return b;
}

/** Sends `cases` requests; returns the figures (crashes name the request and the answer). */
export async function fuzzApi(base: string, token: string, cases: number, seed = 1): Promise<FuzzFigures> {
  const r = prng(seed);
  const f: FuzzFigures = {
    target: 'API requests',
    cases: 0,
    accepted: 0,
    rejected: 0,
    crashes: [],
    hangs: [],
    slowestMs: 0,
  };
  for (let i = 0; i < cases; i++) {
    const call = apiCall(r, i);
    const what = `${call.method} ${call.path.slice(0, 120)}${call.body ? ` body ${call.body.toString('latin1').slice(0, 120)}` : ''}`;
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}${call.path}`, {
        method: call.method,
        body: call.body ? new Uint8Array(call.body) : undefined,
        signal: AbortSignal.timeout(HANG_MS),
        headers: { authorization: `Bearer ${token}`, ...(call.body ? { 'content-type': 'application/json' } : {}) },
      });
      const text = await res.text();
      if (res.status < 400) f.accepted++;
      else {
        const problem = errorProblem(res.status, text);
        if (problem) f.crashes.push(`case ${i}: ${problem}; request ${what}`);
        else f.rejected++;
      }
    } catch (e) {
      const timeout = (e as Error).name === 'TimeoutError';
      (timeout ? f.hangs : f.crashes).push(
        `case ${i}: ${timeout ? `no answer in ${HANG_MS} ms` : `request failed: ${(e as Error).message}`}; request ${what}`,
      );
    }
    f.slowestMs = Math.max(f.slowestMs, performance.now() - t0);
    f.cases++;
  }
  return f;
}

/** Why an error answer is not a clean one, or undefined when it is. */
function errorProblem(status: number, text: string): string | undefined {
  if (status >= 500) return `HTTP ${status}: ${text.slice(0, 200)}`;
  let j: { status?: unknown; code?: unknown; message?: unknown };
  try {
    j = JSON.parse(text);
  } catch {
    return `HTTP ${status} with a body that is not JSON: ${text.slice(0, 100)}`;
  }
  if (j.status !== 'error' || typeof j.code !== 'string' || typeof j.message !== 'string')
    return `HTTP ${status} without the error shape: ${text.slice(0, 200)}`;
  if (/\n\s+at |node:internal|\.js:\d+/.test(text)) return `HTTP ${status} shows a stack trace: ${text.slice(0, 200)}`;
  return undefined;
}
