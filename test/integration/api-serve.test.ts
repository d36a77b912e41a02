/**
 * `hoard serve` under load and in its other modes, over real sockets: 50 concurrent GET /backups
 * while a backup of a large file runs, all answered; that file downloaded byte for byte; a client
 * that disconnects mid-download leaves no lock behind; TLS with a certificate made by openssl;
 * `--scheduler` running hoard.yaml's schedules in the same process while the API answers; a warning
 * on stderr when it listens beyond loopback without TLS.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, ROOT, hoard, run, tempDir, waitForLock } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';
import { createClient } from '../../src/api/client.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A project with the sample SQLite source and `extraSources` (YAML lines under sources:). */
async function project(
  t: import('node:test').TestContext,
  extraSources = '',
  init: string[] = ['--no-backup'],
): Promise<string> {
  const dir = await tempDir(t, 'hoard-serve-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  const r = await hoard(['init', '--yes', ...init], { cwd: dir, env: CLEAN_ENV });
  assert.equal(r.code, 0, r.stderr);
  if (extraSources)
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      (await readFile(path.join(dir, 'hoard.yaml'), 'utf8')).replace('sources:\n', `sources:\n${extraSources}`),
    );
  return dir;
}

/** Complete lock files in the project's repository. */
const locks = async (dir: string) =>
  (await readdir(path.join(dir, '.hoard', 'repo', 'locks')).catch(() => [] as string[])).filter((f) =>
    /^[0-9a-f]{64}$/.test(f),
  );

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

describe('hoard serve', () => {
  it('answers 50 concurrent GET /backups while a backup runs; streams a large download exactly; a disconnect leaves no lock', async (t) => {
    const dir = await project(t, '  big: { type: files, paths: [big.bin] }\n', []);
    // 160 MiB of incompressible data: a backup that takes a few seconds
    const fh = await open(path.join(dir, 'big.bin'), 'w');
    for (let i = 0; i < 160; i++) await fh.write(randomBytes(1 << 20));
    await fh.close();
    const { reader, ci } = await addServerSection(dir, [
      ['reader', 'read,download'],
      ['ci', 'backup'],
    ]);
    const server = await serve(t, dir);
    const { base } = server;
    const c = createClient(base, reader.token);
    assert.equal((await c.listBackups()).count, 1, 'the init backup');

    const started = await createClient(base, ci.token).raw('POST', '/backups', { source: 'big', label: 'big-one' });
    assert.equal(started.status, 202, started.text);
    const taskId = (started.body as { task_id: string }).task_id;
    const taskStatus = async () =>
      ((await c.raw('GET', `/tasks/${taskId}`)).body as { task: { status: string; error: unknown } }).task;
    let wavesDuringBackup = 0;
    let requests = 0;
    while ((await taskStatus()).status === 'running') {
      const answers = await Promise.all(Array.from({ length: 50 }, () => c.raw('GET', '/backups')));
      requests += answers.length;
      for (const a of answers) assert.equal(a.status, 200, a.text);
      for (const a of answers) assert.ok((a.body as { count: number }).count >= 1);
      if ((await taskStatus()).status === 'running') wavesDuringBackup++;
    }
    const done = await taskStatus();
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    t.diagnostic(
      `${requests} GET /backups answered, ${wavesDuringBackup} wave(s) of 50 completed while the backup ran`,
    );
    assert.ok(wavesDuringBackup >= 1, `no wave of 50 requests completed while the backup ran (${requests} requests)`);
    const big = (await c.listBackups({ label: 'big-one' })).backups[0];
    assert.ok(big, 'the backup made over the API is listed');

    // the download is the file, byte for byte
    const res = await fetch(`${base}/backups/${big.id}/download`, {
      headers: { authorization: `Bearer ${reader.token}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /filename="big\.bin"/);
    const h = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      n += chunk.length;
    }
    assert.equal(n, 160 << 20);
    assert.equal(h.digest('hex'), await sha256File(path.join(dir, 'big.bin')));
    assert.deepEqual(await locks(dir), [], 'the download released its lock');

    // a client that goes away mid-download: the stream stops and its lock is released
    const abort = new AbortController();
    const partial = await fetch(`${base}/backups/${big.id}/download?format=zstd`, {
      headers: { authorization: `Bearer ${reader.token}` },
      signal: abort.signal,
    });
    assert.equal(partial.status, 200);
    const reader2 = (partial.body as ReadableStream<Uint8Array>).getReader();
    let got = 0;
    while (got < 1 << 20) got += (await reader2.read()).value?.length ?? 0;
    assert.equal((await locks(dir)).length, 1, 'the download holds a shared lock while it streams');
    abort.abort();
    for (let i = 0; i < 100 && (await locks(dir)).length; i++) await wait(100);
    assert.deepEqual(await locks(dir), [], 'no lock is left by the abandoned download');
    assert.equal((await c.raw('GET', '/backups')).status, 200, 'the server still answers');

    // SIGTERM while a backup task runs: the server stops taking requests, the task finishes, then it exits
    const fh2 = await open(path.join(dir, 'big.bin'), 'w');
    for (let i = 0; i < 96; i++) await fh2.write(randomBytes(1 << 20));
    await fh2.close();
    const last = await createClient(base, ci.token).raw('POST', '/backups', { source: 'big', label: 'at-shutdown' });
    assert.equal(last.status, 202, last.text);
    await waitForLock(path.join(dir, '.hoard', 'repo'));
    assert.equal(await server.stop(), 0);
    assert.match(server.log(), /running tasks may finish/);
    const after = JSON.parse(
      (await hoard(['list', '--json', '--label', 'at-shutdown'], { cwd: dir, env: CLEAN_ENV })).stdout,
    ) as unknown[];
    assert.equal(after.length, 1, 'the backup running at shutdown was finished, not abandoned');
    assert.deepEqual(await locks(dir), []);
    const check = await hoard(['check'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it('serves HTTPS with server.tls and runs the schedules with --scheduler', async (t) => {
    const dir = await project(t);
    const cert = await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: dir },
    );
    assert.equal(cert.code, 0, cert.stderr);
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      `${await readFile(path.join(dir, 'hoard.yaml'), 'utf8')}  fast:\n    sources: [app]\n    schedule: every 2 seconds\n    kind: scheduled\n`,
    );
    const { reader } = await addServerSection(dir, [['reader', 'read']], '  tls: { cert: cert.pem, key: key.pem }\n');
    const s = await serve(t, dir, ['--scheduler']);
    assert.match(s.base, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(s.log(), /TLS, with the scheduler/);
    const ca = await readFile(path.join(dir, 'cert.pem'));
    const get = (p: string, opts: { ca?: Buffer } = { ca }) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${s.base}${p}`,
          { ...opts, headers: { authorization: `Bearer ${reader.token}` } },
          (res) => {
            let body = '';
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    // the certificate is checked: without trusting it the client refuses, with it the API answers
    await assert.rejects(get('/healthz', {}), /self-signed|unable to verify/i);
    assert.equal((await get('/healthz')).status, 200);
    // plain HTTP on the TLS port gets no API answer
    const plain = await fetch(`${s.base.replace('https:', 'http:')}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);

    // the scheduler runs in the same process: scheduled backups appear, and a second scheduler is refused
    let scheduled = 0;
    for (let i = 0; i < 150 && scheduled < 2; i++) {
      await wait(200);
      const list = JSON.parse((await get('/backups?kind=scheduled')).body) as { count: number };
      scheduled = list.count;
    }
    assert.ok(scheduled >= 2, `two scheduled backups within 30 s (log: ${s.log()})`);
    // the scheduler's runs are in the metrics
    const metrics = (await get('/metrics')).body;
    const runs = /^hoard_job_runs_total\{task="fast",result="succeeded"\} (\d+)$/m.exec(metrics);
    assert.ok(runs && Number(runs[1]) >= 2, metrics);
    assert.match(metrics, /^hoard_job_last_success_timestamp_seconds\{task="fast"\} \d/m);
    const second = await hoard(['scheduler', 'start'], { cwd: dir, env: CLEAN_ENV });
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`a scheduler already runs for this project \\(pid ${s.child.pid}`));
    assert.equal(await s.stop(), 0);
    assert.match(s.log(), /scheduler stopped/);
  });

  it('a restore or delete in a protected environment needs confirm: 409 and nothing changed, then a safety snapshot', async (t) => {
    const dir = await project(t, '', ['--environment', 'production']);
    const { ops } = await addServerSection(dir, [['ops', 'admin']]);
    const { base } = await serve(t, dir);
    const c = createClient(base, ops.token);
    const before = await readFile(path.join(dir, 'app.db'));
    const refused = await c.raw('POST', '/backups/restore', { latest: true, source: 'app' });
    assert.equal(refused.status, 409, refused.text);
    assert.equal((refused.body as { code: string }).code, 'confirmation_required');
    assert.match((refused.body as { message: string }).message, /protected environment production/);
    const only = (await c.listBackups()).backups[0];
    const del = await c.raw('DELETE', `/backups/${only.id}`);
    assert.equal(del.status, 409, del.text);
    const latest = await c.raw('DELETE', '/backups/latest?confirm=true');
    assert.equal(latest.status, 400, 'delete names one backup, never "latest" (as hoard delete)');
    assert.deepEqual(await readFile(path.join(dir, 'app.db')), before);
    assert.equal((await c.listBackups()).count, 1, 'nothing deleted, no safety snapshot taken');
    const ok = await c.raw('POST', '/backups/restore', { latest: true, source: 'app', confirm: true });
    assert.equal(ok.status, 202, ok.text);
    let task: { status: string; result: { pre_restore_snapshot_id: string | null } } | undefined;
    for (let i = 0; i < 100 && task?.status !== 'succeeded'; i++) {
      await wait(100);
      task = ((await c.raw('GET', `/tasks/${(ok.body as { task_id: string }).task_id}`)).body as { task: typeof task })
        .task;
      if (task?.status === 'failed') break;
    }
    assert.equal(task?.status, 'succeeded', JSON.stringify(task));
    assert.ok(task!.result.pre_restore_snapshot_id, 'the overwritten database was saved first');
    const kinds = (await c.listBackups()).backups.map((b) => b.kind).sort();
    assert.deepEqual(kinds, ['manual', 'pre-restore']);
  });

  it('warns on stderr, in one line, when it listens beyond loopback without TLS; not on loopback, not with TLS', async (t) => {
    const dir = await project(t);
    await addServerSection(dir, [['reader', 'read']]);
    /** Starts `hoard serve --listen ADDR`, waits for its address and half a second more, stops it; its stdout and stderr. */
    const served = async (listen: string) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--listen', listen], {
        cwd: dir,
        env: { ...process.env, ...CLEAN_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '',
        err = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      child.stderr!.on('data', (d) => {
        err += d;
      });
      t.after(() => child.kill('SIGKILL'));
      for (let i = 0; i < 150 && !/listening on/.test(out) && child.exitCode === null; i++) await wait(100);
      assert.match(out, /listening on/, err);
      await wait(500);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return { out, err };
    };
    const open = await served('0.0.0.0:0');
    const lines = open.err.trim().split('\n');
    assert.equal(lines.length, 1, open.err);
    assert.match(
      lines[0],
      /^hoard: warning: serving on 0\.0\.0\.0 without TLS: .*set server\.tls \(cert and key\) in hoard\.yaml, or listen on 127\.0\.0\.1 or ::1$/,
    );
    assert.doesNotMatch(open.out, /warning/, 'the warning is on stderr');
    for (const listen of ['127.0.0.1:0', '[::1]:0', 'localhost:0'])
      assert.equal((await served(listen)).err, '', listen);
    const cert = await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '1',
        '-subj',
        '/CN=x',
      ],
      { cwd: dir },
    );
    assert.equal(cert.code, 0, cert.stderr);
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      (await readFile(path.join(dir, 'hoard.yaml'), 'utf8')).replace(
        'server:\n',
        'server:\n  tls: { cert: cert.pem, key: key.pem }\n',
      ),
    );
    assert.equal((await served('0.0.0.0:0')).err, '', 'with TLS there is nothing to warn about');
  });

  it('refuses a missing TLS file with the key and the path, before listening', async (t) => {
    const dir = await project(t);
    await addServerSection(dir, [['reader', 'read']], '  tls: { cert: nowhere.pem, key: key.pem }\n');
    const r = await hoard(['serve'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.tls\.cert: cannot read .*nowhere\.pem \(ENOENT\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
