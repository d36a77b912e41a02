/**
 * The REST API over a real socket (`hoard serve` as a subprocess), through the typed client: the
 * auth matrix (no token, wrong token, wrong scope, right scope) on every route, JSON errors,
 * injection and traversal attempts in ids and query parameters rejected with 400, failed attempts
 * rate-limited, and /metrics parsed by a Prometheus text-format parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, copyFile, readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { CLI, ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { ROUTES } from '../../src/api/contract.js';
import { createClient } from '../../src/api/client.js';

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[];

async function token(dir: string, name: string, scopes: string): Promise<{ token: string; hash: string }> {
  const r = await hoard(['token', 'new', '--name', name, '--scopes', scopes, '--json'], { cwd: dir, env: CLEAN_ENV });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('REST API', () => {
  it('auth matrix, JSON errors, rejected injections, rate limit, Prometheus metrics', async (t) => {
    const dir = await tempDir(t, 'hoard-api-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    assert.equal((await hoard(['verify', '--latest', '--quick'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const reader = await token(dir, 'reader', 'read');
    const admin = await token(dir, 'ops', 'admin');
    const backup = await token(dir, 'ci', 'backup');
    await appendFile(path.join(dir, 'hoard.yaml'), `server:\n  listen: 127.0.0.1:0\n  max_failures_per_minute: 30\n  tokens:\n${[['reader', reader, 'read'], ['ops', admin, 'admin'], ['ci', backup, 'backup']].map(([n, tk, s]) => `    - { name: ${n}, hash: "${(tk as { hash: string }).hash}", scopes: [${s}] }`).join('\n')}\n`);
    const server = spawn(process.execPath, [CLI, 'serve'], { cwd: dir, env: { ...process.env, ...CLEAN_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => server.kill('SIGTERM'));
    let out = '';
    server.stdout!.on('data', (d) => { out += d; });
    server.stderr!.on('data', (d) => { out += d; });
    for (let i = 0; i < 100 && !/listening on (http:\/\/\S+)/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const base = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    assert.ok(base, out);

    // every route × no token, a wrong token, a token without the scope, the right scope
    const paths: Record<string, string> = {
      healthz: '/healthz', listBackups: '/backups', getBackup: '/backups/latest', status: '/status', metrics: '/metrics', createBackup: '/backups',
      deleteBackup: '/backups/ffffffffffff', download: '/backups/latest/download', getTask: '/tasks/0000000000000000', taskEvents: '/tasks/0000000000000000/events',
      restore: '/backups/restore', cleanup: '/backups/cleanup', verify: '/backups/latest/verify',
    };
    for (const [name, route] of Object.entries(ROUTES)) {
      const p = paths[name];
      const none = await createClient(base!).raw(route.method, p);
      if (route.scope === null) { assert.equal(none.status, 200, `${name} needs no token`); continue; }
      assert.equal(none.status, 401, `${name} without a token`);
      assert.deepEqual(Object.keys(none.body as object).sort(), ['code', 'hint', 'message', 'status']);
      assert.equal((none.body as { code: string }).code, 'unauthorized');
      assert.equal((await createClient(base!, 'hoard_not_a_token').raw(route.method, p)).status, 401, `${name} with a wrong token`);
      const lacking = route.scope === 'read' ? backup : reader;
      const wrong = await createClient(base!, lacking.token).raw(route.method, p);
      assert.equal(wrong.status, 403, `${name} with a token lacking ${route.scope}`);
      assert.match((wrong.body as { message: string }).message, new RegExp(`lacks the ${route.scope} scope`));
      const right = route.scope === 'read' ? reader : route.scope === 'backup' ? backup : admin;
      for (const tk of [right, admin]) {
        // POST /backups names a source that does not exist: auth passes, the task fails, nothing is written
        const r = await createClient(base!, tk.token).raw(route.method, p, route.method === 'POST' ? { source: 'no-such-source' } : undefined);
        assert.ok(![401, 403].includes(r.status), `${name} with the ${route.scope} scope: ${r.status} ${r.text}`);
      }
    }

    const c = createClient(base!, reader.token);
    await new Promise((r) => setTimeout(r, 500)); // the matrix's failing tasks have finished
    const list = await c.listBackups();
    assert.equal(list.status, 'success');
    assert.equal(list.count, 1);
    assert.equal(list.backups[0].source, 'app');
    assert.equal(list.backups[0].verification?.level, 'quick');
    assert.equal((await c.listBackups({ kind: 'daily' })).count, 0);
    const one = await c.getBackup(list.backups[0].short_id);
    assert.equal(one.backup.id, list.backups[0].id);
    assert.equal((await c.raw('GET', '/backups/ffffffffff')).status, 404);
    for (const bad of ['/backups/..%2F..%2Fetc%2Fpasswd', '/backups/%27%3B%20DROP%20TABLE%20x', '/backups?source=..%2F..%2Fetc', '/backups?days=1%20OR%201%3D1', '/backups?evil=1']) {
      const r = await c.raw('GET', bad);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.equal((r.body as { code: string }).code, 'bad_request');
    }
    const status = await c.status();
    assert.equal((status as { repository: { snapshots: number } }).repository.snapshots, 1);

    const families = parsePrometheus(await c.metrics());
    const byName = new Map(families.map((f) => [f.name, f]));
    assert.equal(byName.get('hoard_repository_snapshots')?.metrics[0].value, '1');
    assert.equal(byName.get('hoard_backup_last_timestamp_seconds')?.metrics[0].labels?.source, 'app');
    assert.equal(byName.get('hoard_verification_ok')?.metrics[0].value, '1');
    assert.ok(Number(byName.get('hoard_repository_size_bytes')?.metrics[0].value) > 0);

    // a backup as a task: accepted, followed over server-sent events, then done
    const ci = createClient(base!, backup.token);
    const accepted = await ci.raw('POST', '/backups', { source: 'app', label: 'from-api', reason: 'api test' });
    assert.equal(accepted.status, 202, accepted.text);
    const taskId = (accepted.body as { task_id: string }).task_id;
    const sse = await (await fetch(`${base}/tasks/${taskId}/events`, { headers: { authorization: `Bearer ${reader.token}` } })).text();
    assert.match(sse, /^event: started\ndata: /m);
    assert.match(sse, /^event: succeeded\ndata: .*"from-api"/m);
    const task = (await c.raw('GET', `/tasks/${taskId}`)).body as { task: { status: string; result: { backups: { id: string; label: string }[] } } };
    assert.equal(task.task.status, 'succeeded');
    const made = task.task.result.backups[0];
    assert.equal(made.label, 'from-api');
    const bad = await ci.raw('POST', '/backups', { source: '../../etc', rm: true });
    assert.equal(bad.status, 400);
    // the artifact, streamed and compressed
    const dl = await fetch(`${base}/backups/${made.id}/download?format=gz`, { headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-disposition') ?? '', /filename="app\.db\.gz"/);
    assert.deepEqual(gunzipSync(Buffer.from(await dl.arrayBuffer())).subarray(0, 16), Buffer.from('SQLite format 3\0', 'latin1'));
    assert.equal((await c.raw('GET', `/backups/${made.id}/download?format=tar`)).status, 400);
    // verify, restore (dry run) and cleanup (dry run) over HTTP
    const until = async (id: string) => {
      for (let i = 0; i < 100; i++) {
        const tk = (await c.raw('GET', `/tasks/${id}`)).body as { task: { status: string; result: Record<string, unknown>; error: unknown } };
        if (tk.task.status !== 'running') return tk.task;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('task did not finish');
    };
    const v = await ci.raw('POST', `/backups/${made.id.slice(0, 10)}/verify`, { level: 'drill' });
    assert.equal(v.status, 202, v.text);
    const vt = await until((v.body as { task_id: string }).task_id);
    assert.equal(vt.status, 'succeeded', JSON.stringify(vt));
    assert.equal(vt.result.ok, true);
    assert.equal(vt.result.level, 'drill');
    const restorer = createClient(base!, admin.token);
    const rs = await restorer.raw('POST', '/backups/restore', { latest: true, source: 'app', dry_run: true });
    assert.equal(rs.status, 202, rs.text);
    const rt = await until((rs.body as { task_id: string }).task_id);
    assert.equal(rt.status, 'succeeded', JSON.stringify(rt));
    assert.equal(rt.result.dry_run, true);
    const plan = await restorer.raw('POST', '/backups/cleanup', { dry_run: true, keep_last: 1, allow_empty: true });
    assert.equal(plan.status, 200, plan.text);
    const pb = plan.body as Record<string, unknown>;
    for (const k of ['status', 'dry_run', 'deleted_count', 'deleted_files', 'total_size_freed', 'retention_days', 'timestamp']) assert.ok(k in pb, k);
    assert.equal(pb.deleted_count, 0, 'both backups are manual: never removed by policy');
    assert.ok((pb.decisions as { reasons: string[] }[]).some((d) => d.reasons.includes('manual (never removed by policy)')));
    for (const bad of [{ keep_last: 0 }, { older_than_days: '7; rm -rf /' }, { source: '../x' }, { what: 1 }]) {
      assert.equal((await restorer.raw('POST', '/backups/cleanup', bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await ci.raw('POST', '/backups/latest/verify', { level: 'everything' })).status, 400);
    assert.equal((JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as unknown[]).length, 2, 'dry runs changed nothing');

    // delete, then the audit log has who did what
    const del = await createClient(base!, admin.token).raw('DELETE', `/backups/${made.id.slice(0, 10)}`);
    assert.equal(del.status, 200, del.text);
    assert.equal((del.body as { deleted_count: number }).deleted_count, 1);
    const readAudit = async () => (await readFile(path.join(dir, '.hoard', 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    // the audit line is written as the response completes: wait for it
    for (let i = 0; i < 50 && !(await readAudit()).some((a) => a.method === 'DELETE' && a.status === 200); i++) await new Promise((r) => setTimeout(r, 100));
    const audit = await readAudit();
    assert.ok(audit.some((a) => a.method === 'POST' && a.path === '/backups' && a.token === 'ci' && a.status === 202));
    assert.ok(audit.some((a) => a.method === 'DELETE' && a.token === 'ops' && a.status === 200));
    assert.ok(audit.some((a) => a.method === 'POST' && a.token === null && a.status === 401), 'refused attempts are audited too');

    // failed attempts are limited per address
    const codes: number[] = [];
    for (let i = 0; i < 35; i++) codes.push((await createClient(base!, `wrong-${i}`).raw('GET', '/backups')).status);
    assert.ok(codes.includes(429), codes.join(','));
    assert.equal((await createClient(base!).raw('GET', '/healthz')).status, 200, 'healthz stays open');
  });

  it('refuses to start without tokens', async (t) => {
    const dir = await tempDir(t, 'hoard-api-none-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const r = await hoard(['serve'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no server\.tokens/);
  });
});
