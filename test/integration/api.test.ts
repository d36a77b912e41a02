/**
 * The REST API over a real socket (`hoard serve` as a subprocess), through the typed client: the
 * auth matrix (no token, wrong token, wrong scope, right scope) on every route, JSON errors,
 * injection and traversal attempts in ids and query parameters rejected with 400, failed attempts
 * rate-limited, and /metrics parsed by a Prometheus text-format parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { request as httpRequest } from 'node:http';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { ROUTES } from '../../src/api/contract.js';
import { createClient } from '../../src/api/client.js';
import { addServerSection, serve } from '../helpers/api.js';
import { responseChecker, validateDocument } from '../helpers/openapi.js';
import { openApiDocument } from '../../src/api/openapi.js';

/** POSTs only the headers of a JSON request declaring `length` bytes, and returns the answer. */
function headersOnly(
  url: string,
  token: string,
  length: number,
): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          });
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.flushHeaders();
  });
}

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[];

describe('REST API', () => {
  it('auth matrix, JSON errors, rejected injections, rate limit, Prometheus metrics', async (t) => {
    const dir = await tempDir(t, 'hoard-api-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    assert.equal((await hoard(['verify', '--latest', '--quick'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    await appendFile(path.join(dir, 'hoard.yaml'), 'restore_targets:\n  scratch: { path: restored }\n');
    const {
      reader,
      ops: admin,
      ci: backup,
      dl,
    } = await addServerSection(
      dir,
      [
        ['reader', 'read'],
        ['ops', 'admin'],
        ['ci', 'backup'],
        ['dl', 'download'],
      ],
      '  max_failures_per_minute: 30\n',
    );
    const { base } = await serve(t, dir);
    // every response below is checked against the OpenAPI document the server publishes
    const checker = await responseChecker(await createClient(base!, reader.token).openapi());
    const client = (tk?: string) => createClient(base!, tk, { onResponse: checker.check });
    const fetchChecked = async (
      p: string,
      tk: string,
      init: { method?: string; type?: string; body?: string } = {},
    ) => {
      const r = await fetch(`${base}${p}`, {
        method: init.method ?? 'GET',
        body: init.body,
        headers: { authorization: `Bearer ${tk}`, ...(init.type ? { 'content-type': init.type } : {}) },
      });
      const body = Buffer.from(await r.arrayBuffer());
      const contentType = r.headers.get('content-type') ?? '';
      checker.check({
        method: init.method ?? 'GET',
        path: p,
        status: r.status,
        contentType,
        body: contentType.includes('json') ? JSON.parse(body.toString()) : body.toString('latin1'),
      });
      return { r, body };
    };

    // every route × no token, a wrong token, a token without the scope, the right scope
    const paths: Record<string, string> = {
      healthz: '/healthz',
      openapi: '/openapi.json',
      listBackups: '/backups',
      getBackup: '/backups/latest',
      status: '/status',
      metrics: '/metrics',
      createBackup: '/backups',
      deleteBackup: '/backups/ffffffffffff',
      download: '/backups/latest/download',
      getTask: '/tasks/0000000000000000',
      taskEvents: '/tasks/0000000000000000/events',
      restore: '/backups/restore',
      cleanup: '/backups/cleanup',
      verify: '/backups/latest/verify',
    };
    for (const [name, route] of Object.entries(ROUTES)) {
      const p = paths[name];
      const none = await client().raw(route.method, p);
      if (route.scope === null) {
        assert.equal(none.status, 200, `${name} needs no token`);
        continue;
      }
      assert.equal(none.status, 401, `${name} without a token`);
      assert.deepEqual(Object.keys(none.body as object).sort(), ['code', 'hint', 'message', 'status']);
      assert.equal((none.body as { code: string }).code, 'unauthorized');
      assert.equal((await client('hoard_not_a_token').raw(route.method, p)).status, 401, `${name} with a wrong token`);
      const lacking = route.scope === 'read' ? backup : reader;
      const wrong = await client(lacking.token).raw(route.method, p);
      assert.equal(wrong.status, 403, `${name} with a token lacking ${route.scope}`);
      assert.match((wrong.body as { message: string }).message, new RegExp(`lacks the ${route.scope} scope`));
      const right =
        route.scope === 'read' ? reader : route.scope === 'backup' ? backup : route.scope === 'download' ? dl : admin;
      for (const tk of [right, admin]) {
        // POST /backups names a source that does not exist: auth passes, the task fails, nothing is written
        const r = await client(tk.token).raw(
          route.method,
          p,
          route.method === 'POST' ? { source: 'no-such-source' } : undefined,
        );
        assert.ok(![401, 403].includes(r.status), `${name} with the ${route.scope} scope: ${r.status} ${r.text}`);
      }
    }

    const c = client(reader.token);
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
    for (const bad of [
      '/backups/..%2F..%2Fetc%2Fpasswd',
      '/backups/%27%3B%20DROP%20TABLE%20x',
      '/backups?source=..%2F..%2Fetc',
      '/backups?days=1%20OR%201%3D1',
      '/backups?evil=1',
    ]) {
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
    assert.ok(Number(byName.get('hoard_backup_last_duration_seconds')?.metrics[0].value) > 0);
    assert.equal(byName.get('hoard_backup_failures_total')?.type, 'COUNTER');
    assert.equal(byName.get('hoard_backup_failures_total')?.metrics[0].value, '0', 'no scheduler has run: no failures');

    // a backup as a task: accepted, followed over server-sent events, then done
    const ci = client(backup.token);
    const accepted = await ci.raw('POST', '/backups', { source: 'app', label: 'from-api', reason: 'api test' });
    assert.equal(accepted.status, 202, accepted.text);
    const taskId = (accepted.body as { task_id: string }).task_id;
    const sse = (await fetchChecked(`/tasks/${taskId}/events`, reader.token)).body.toString();
    assert.match(sse, /^event: started\ndata: /m);
    assert.match(sse, /^event: succeeded\ndata: .*"from-api"/m);
    const task = (await c.raw('GET', `/tasks/${taskId}`)).body as {
      task: { status: string; result: { backups: { id: string; label: string }[] } };
    };
    assert.equal(task.task.status, 'succeeded');
    const made = task.task.result.backups[0];
    assert.equal(made.label, 'from-api');
    const bad = await ci.raw('POST', '/backups', { source: '../../etc', rm: true });
    assert.equal(bad.status, 400);
    // the artifact, streamed and compressed
    assert.equal(
      (await fetchChecked(`/backups/${made.id}/download?format=gz`, reader.token)).r.status,
      403,
      'reading is not downloading',
    );
    const got = await fetchChecked(`/backups/${made.id}/download?format=gz`, dl.token);
    assert.equal(got.r.status, 200);
    assert.equal(
      got.r.headers.get('content-disposition'),
      'attachment; filename="app.db.gz"; filename*=UTF-8\'\'app.db.gz',
    );
    assert.deepEqual(gunzipSync(got.body).subarray(0, 16), Buffer.from('SQLite format 3\0', 'latin1'));
    assert.equal((await client(dl.token).raw('GET', `/backups/${made.id}/download?format=tar`)).status, 400);
    // verify, restore (dry run) and cleanup (dry run) over HTTP
    const until = async (id: string) => {
      for (let i = 0; i < 100; i++) {
        const tk = (await c.raw('GET', `/tasks/${id}`)).body as {
          task: { status: string; result: Record<string, unknown>; error: unknown };
        };
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
    const restorer = client(admin.token);
    const rs = await restorer.raw('POST', '/backups/restore', { latest: true, source: 'app', dry_run: true });
    assert.equal(rs.status, 200, rs.text);
    const plan0 = rs.body as { dry_run: boolean; backup: { source: string }; protected_environment: string | null };
    assert.equal(plan0.dry_run, true);
    assert.equal(plan0.backup.source, 'app');
    assert.equal(plan0.protected_environment, null);
    // a real restore, into a restore target of hoard.yaml (a folder: the SQLite file goes inside), as a task
    await mkdir(path.join(dir, 'restored'));
    const copy = path.join(dir, 'restored', 'app.db');
    const rr = await restorer.raw('POST', '/backups/restore', { latest: true, source: 'app', target: 'scratch' });
    assert.equal(rr.status, 202, rr.text);
    const rt = await until((rr.body as { task_id: string }).task_id);
    assert.equal(rt.status, 'succeeded', JSON.stringify(rt));
    assert.equal(rt.result.dry_run, false);
    assert.deepEqual((await readFile(copy)).subarray(0, 16), Buffer.from('SQLite format 3\0', 'latin1'));
    // a missing backup is answered at once, not as a failed task
    const missing = await restorer.raw('POST', '/backups/restore', { id: 'ffffffffff' });
    assert.equal(missing.status, 404, missing.text);
    // malformed JSON, a body that is too large, a body that is not JSON: the documented codes
    const malformed = await fetchChecked('/backups', backup.token, {
      method: 'POST',
      type: 'application/json',
      body: '{"source": "app"',
    });
    assert.equal(malformed.r.status, 400);
    // a body over the limit is refused on its declared length: the headers alone get the answer (a
    // client still sending 2 MiB could see the connection reset before it read the 413)
    const huge = await headersOnly(`${base}/backups`, backup.token, 2 << 20);
    checker.check({
      method: 'POST',
      path: '/backups',
      status: huge.status,
      contentType: huge.type,
      body: JSON.parse(huge.body.toString()),
    });
    assert.equal(huge.status, 413);
    assert.equal(JSON.parse(huge.body.toString()).code, 'payload_too_large');
    const text = await fetchChecked('/backups', backup.token, {
      method: 'POST',
      type: 'text/plain',
      body: 'source=app',
    });
    assert.equal(text.r.status, 415);
    assert.equal(
      (JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as unknown[]).length,
      2,
      'no bad request made a backup',
    );
    const plan = await restorer.raw('POST', '/backups/cleanup', { dry_run: true, keep_last: 1, allow_empty: true });
    assert.equal(plan.status, 200, plan.text);
    const pb = plan.body as Record<string, unknown>;
    for (const k of [
      'status',
      'dry_run',
      'deleted_count',
      'deleted_files',
      'total_size_freed',
      'retention_days',
      'timestamp',
    ])
      assert.ok(k in pb, k);
    assert.equal(pb.deleted_count, 0, 'both backups are manual: never removed by policy');
    assert.ok(
      (pb.decisions as { reasons: string[] }[]).some((d) => d.reasons.includes('manual (never removed by policy)')),
    );
    // every body is checked against its schema in the OpenAPI document: a wrong type is refused, not
    // read as absent (`dry_run: "true"` used to start the real cleanup, and restore, it meant to preview)
    for (const bad of [
      { keep_last: 0 },
      { older_than_days: '7; rm -rf /' },
      { source: '../x' },
      { what: 1 },
      { dry_run: 'true', older_than_days: 1, confirm: true },
      { keep_last: 1.5 },
    ]) {
      const r = await restorer.raw('POST', '/backups/cleanup', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match((r.body as { message: string }).message, /^(unknown field what|\w+ (must|holds) .+)$/, r.text);
    }
    for (const bad of [{ latest: true, source: 'app', dry_run: 'true' }, { latest: 'yes' }, { include: ['/a\n'] }]) {
      const r = await restorer.raw('POST', '/backups/restore', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    }
    assert.equal((await ci.raw('POST', '/backups/latest/verify', { level: 'everything' })).status, 400);
    assert.equal(
      (JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as unknown[]).length,
      2,
      'dry runs changed nothing',
    );

    // delete, then the audit log has who did what
    const del = await client(admin.token).raw('DELETE', `/backups/${made.id.slice(0, 10)}`);
    assert.equal(del.status, 200, del.text);
    assert.equal((del.body as { deleted_count: number }).deleted_count, 1);
    const readAudit = async () =>
      (await readFile(path.join(dir, '.hoard', 'audit.log'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    // the audit line is written as the response completes: wait for it
    for (let i = 0; i < 50 && !(await readAudit()).some((a) => a.method === 'DELETE' && a.status === 200); i++)
      await new Promise((r) => setTimeout(r, 100));
    const audit = await readAudit();
    assert.ok(audit.some((a) => a.method === 'POST' && a.path === '/backups' && a.token === 'ci' && a.status === 202));
    assert.ok(audit.some((a) => a.method === 'DELETE' && a.token === 'ops' && a.status === 200));
    assert.ok(
      audit.some((a) => a.method === 'POST' && a.token === null && a.status === 401),
      'refused attempts are audited too',
    );
    assert.ok(
      audit.some(
        (a) =>
          a.route === 'download' &&
          a.token === 'dl' &&
          a.status === 200 &&
          a.backup === made.id &&
          a.file === 'app.db.gz',
      ),
      'downloads are audited with what was taken',
    );
    assert.ok(
      audit.some((a) => a.route === 'download' && a.token === 'reader' && a.status === 403),
      'a refused download is audited',
    );
    assert.ok(
      audit.some(
        (a) =>
          a.route === 'restore' &&
          a.token === 'ops' &&
          a.status === 202 &&
          a.target === 'scratch' &&
          /restored/.test(a.destination),
      ),
      'restores are audited with their target',
    );

    // failed attempts are limited per address
    const codes: number[] = [];
    for (let i = 0; i < 35; i++) codes.push((await client(`wrong-${i}`).raw('GET', '/backups')).status);
    assert.ok(codes.includes(429), codes.join(','));
    assert.equal((await client().raw('GET', '/healthz')).status, 200, 'healthz stays open');

    // every route answered with a documented success, and the usual failures were checked too
    for (const name of Object.keys(ROUTES))
      assert.ok(
        [...checker.seen].some((x) => x.startsWith(`${name} 2`)),
        `${name}: no successful response was checked (${[...checker.seen].join(', ')})`,
      );
    for (const status of [400, 401, 403, 404, 413, 415, 429])
      assert.ok(
        [...checker.seen].some((x) => x.endsWith(` ${status}`)),
        `no ${status} was checked`,
      );
  });

  it('the OpenAPI document is valid OpenAPI 3.1 and lists every route', async () => {
    const doc = openApiDocument('0.0.0') as { paths: Record<string, Record<string, { operationId: string }>> };
    await validateDocument(doc);
    const ops = Object.values(doc.paths)
      .flatMap((m) => Object.values(m).map((o) => o.operationId))
      .sort();
    assert.deepEqual(ops, Object.keys(ROUTES).sort());
    // a broken document is caught: the checker is not a rubber stamp
    await assert.rejects(
      validateDocument({
        ...doc,
        openapi: '3.1.0',
        paths: { '/x': { get: { responses: { 200: { content: 'nope' } } } } },
      }),
      /not valid/,
    );
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
