/**
 * The API's authorization matrix, generated from the contract (src/api/contract.ts): every route ×
 * GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS × {no token, an unknown token, a token of each
 * scope}. Only the declared (method, path) pairs with a token holding the route's scope (or admin)
 * reach a handler: a counter on the server's handlers proves that nothing else does. A route added
 * to the contract is covered without editing this test, and a route registered outside the
 * contract stops the server from starting. The server runs in this process (`inject`), on a real
 * project with a real repository.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection } from '../helpers/api.js';
import { ROUTES, SCOPES, type RouteName, type Scope } from '../../src/api/contract.js';
import { buildServer } from '../../src/server/app.js';
import { FailureLimiter } from '../../src/server/auth.js';
import { loadProject } from '../../src/app/project.js';
import { KeyCache } from '../../src/core/index.js';
import { systemClock } from '../../src/app/environment.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A concrete URL for a route: each :param filled with a value no handler will act on. */
const urlOf = (p: string) => p.replace(/:(\w+)/g, 'ffffffffffff');

/** The contract route a (method, url) means, as a router does it: a static segment beats a parameter. */
function declaredRoute(method: string, url: string): RouteName | undefined {
  const fits = (Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]).filter(
    ([, r]) => r.method === method && new RegExp(`^${r.path.replace(/:\w+/g, '[^/]+')}$`).test(url),
  );
  fits.sort((a, b) => (a[1].path.match(/:/g)?.length ?? 0) - (b[1].path.match(/:/g)?.length ?? 0));
  return fits[0]?.[0];
}

async function servedProject(t: import('node:test').TestContext) {
  const dir = await tempDir(t, 'hoard-authz-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  assert.equal((await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV })).code, 0);
  const tokens = await addServerSection(
    dir,
    SCOPES.map((s) => [`t-${s}`, s] as [string, string]),
  );
  const vars = { ...process.env, ...CLEAN_ENV };
  const env = { vars, clock: systemClock, cwd: dir, isTTY: false, keys: new KeyCache() };
  const project = await loadProject(env);
  return { dir, tokens, env, project };
}

describe('API authorization matrix', () => {
  it('only declared (route, method, scope) triples reach a handler; HEAD, OPTIONS and every other pair are refused', async (t) => {
    const { tokens, env, project } = await servedProject(t);
    const reached: RouteName[] = [];
    const app = await buildServer({
      project,
      env,
      version: 'test',
      maxFailuresPerMinute: 100_000,
      tokens: project.config.server!.tokens as never,
      onHandler: (r) => reached.push(r),
    });
    t.after(() => app.close());
    const callers: { name: string; header?: string; scopes: Scope[] }[] = [
      { name: 'no token', scopes: [] },
      { name: 'an unknown token', header: 'Bearer hoard_not_a_token', scopes: [] },
      { name: 'a malformed header', header: 'Basic abc', scopes: [] },
      ...SCOPES.map((s) => ({ name: `the ${s} token`, header: `Bearer ${tokens[`t-${s}`].token}`, scopes: [s] })),
    ];
    let checked = 0;
    for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
      for (const method of METHODS) {
        const meant = declaredRoute(method, urlOf(route.path));
        const scope = meant ? ROUTES[meant].scope : undefined;
        for (const c of callers) {
          const declared = meant !== undefined;
          const may = scope === null || c.scopes.includes('admin') || (scope !== undefined && c.scopes.includes(scope));
          const before = reached.length;
          const r = await app.inject({
            method,
            url: urlOf(route.path),
            headers: {
              ...(c.header ? { authorization: c.header } : {}),
              ...(method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/json' }),
            },
            ...(['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
              ? { payload: JSON.stringify({ matrix: true }) }
              : {}),
          });
          const got = reached.slice(before);
          const what = `${method} ${urlOf(route.path)} (from ${name}, meaning ${meant ?? 'no route'}) with ${c.name}: ${r.statusCode} ${r.body.slice(0, 160)}`;
          checked++;
          if (declared && may) {
            assert.deepEqual(got, [meant], `should reach its handler: ${what}`);
            continue;
          }
          assert.deepEqual(got, [], `must not reach a handler: ${what}`);
          const valid = c.scopes.length > 0;
          const want = !valid ? 401 : !declared ? 404 : 403;
          assert.equal(r.statusCode, want, what);
          if (method !== 'HEAD') assert.equal(JSON.parse(r.body).status, 'error', what);
        }
      }
    }
    assert.equal(checked, Object.keys(ROUTES).length * METHODS.length * callers.length);
    // paths outside the contract, too
    for (const method of METHODS) {
      const r = await app.inject({ method, url: '/backups/latest/../../etc/passwd' });
      assert.equal(r.statusCode, 401);
    }
    const before = reached.length;
    for (const url of ['/', '/nothing', '/backups/x/y/z', '/openapi.json/x']) {
      assert.equal(
        (await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens['t-admin'].token}` } }))
          .statusCode,
        404,
        url,
      );
    }
    assert.equal(reached.length, before);
  });

  it('a route outside the contract stops the server from being built', async (t) => {
    const { env, project } = await servedProject(t);
    const app = await buildServer({ project, env, version: 'test', tokens: project.config.server!.tokens as never });
    t.after(() => app.close());
    assert.throws(() => app.get('/secret', async () => 'reached'), /not declared in src\/api\/contract\.ts/);
    assert.throws(
      () =>
        app.route({ method: 'POST', url: ROUTES.status.path, config: { route: 'status' }, handler: async () => 'x' }),
      /not declared/,
    );
  });

  it('a limited address still serves its valid tokens; the record forgets quiet addresses and is capped', async (t) => {
    const { tokens, env, project } = await servedProject(t);
    let now = 1_000_000;
    const app = await buildServer({
      project,
      env: { ...env, clock: { now: () => now } },
      version: 'test',
      maxFailuresPerMinute: 3,
      tokens: project.config.server!.tokens as never,
    });
    t.after(() => app.close());
    const get = (auth?: string) =>
      app.inject({ method: 'GET', url: '/status', headers: auth ? { authorization: auth } : {} });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await get(`Bearer wrong-${i}`)).statusCode);
    assert.deepEqual(codes.slice(-2), [429, 429], codes.join(','));
    assert.equal(
      (await get(`Bearer ${tokens['t-read'].token}`)).statusCode,
      200,
      'a valid token is not locked out with the address',
    );
    now += 61_000;
    assert.equal((await get('Bearer wrong-again')).statusCode, 401, 'a minute later the address may try again');

    const l = new FailureLimiter(2, 60_000, 100);
    for (let i = 0; i < 1000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`, 5);
    assert.ok(l.size <= 100, `${l.size} addresses kept`);
    assert.equal(l.limited('10.0.3.231', 6), false, 'one failure is not a limit');
    l.fail('10.9.9.9', 10);
    l.fail('10.9.9.9', 11);
    assert.equal(l.limited('10.9.9.9', 12), true);
    assert.equal(l.limited('10.9.9.9', 60_012), false, 'forgotten after the window');
  });
});
