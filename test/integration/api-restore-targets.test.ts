/**
 * Restores over the API go only where hoard.yaml says: a `restore` token aimed at "/", at a file
 * under /etc, at another SQLite path, or at a PostgreSQL server that hoard.yaml does not name is
 * refused (403, one line saying how to allow it) before any file is made or any connection tried:
 * a socket listening where the URL points records none. Declared restore targets and the source's
 * own location work, and protection follows the target: a dev backup restored into a production
 * source needs confirmation. Real server (`hoard serve`), real PostgreSQL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  appendFile,
  copyFile,
  lchown,
  lstat,
  mkdir,
  readFile,
  readdir,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';
import { createClient } from '../../src/api/client.js';
import { dropPg, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';

/** A TCP listener that counts connections (it answers none). */
async function listener(t: import('node:test').TestContext): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const srv = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  return { port: (srv.address() as { port: number }).port, connections: () => n };
}

async function until(c: ReturnType<typeof createClient>, id: string) {
  for (let i = 0; i < 300; i++) {
    const tk = (await c.raw('GET', `/tasks/${id}`)).body as {
      task: { status: string; result: Record<string, unknown>; error: { message: string } | null };
    };
    if (tk.task.status !== 'running') return tk.task;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('task did not finish');
}

describe('API restore targets', () => {
  it('refuses "/", /etc, another SQLite path and an undeclared PostgreSQL server before touching anything', async (t) => {
    const dir = await tempDir(t, 'hoard-targets-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    await mkdir(path.join(dir, 'files'));
    await writeFile(path.join(dir, 'files', 'a.txt'), 'hello');
    const init = await hoard(['init', '--yes', '--files', 'files'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(init.code, 0, init.stderr);
    assert.match(await readFile(path.join(dir, 'hoard.yaml'), 'utf8'), /^ {2}files:$/m);
    await appendFile(path.join(dir, 'hoard.yaml'), 'restore_targets:\n  scratch: { path: scratch }\n');
    const { ops, restorer } = await addServerSection(dir, [
      ['ops', 'admin'],
      ['restorer', 'read,restore'],
    ]);
    const { base } = await serve(t, dir);
    const c = createClient(base, restorer.token);
    const sock = await listener(t);
    const outside = path.join(dir, 'outside.db');
    const before = await readFile('/etc/hostname').catch(() => Buffer.alloc(0));
    const refused = [
      { target: '/' },
      { target: '/etc/hostname' },
      { target: outside },
      { target: `sqlite:${outside}` },
      { target: `postgres://app@127.0.0.1:${sock.port}/postgres` },
      { target: `postgres://app@127.0.0.1:${sock.port}/postgres`, dry_run: true },
      { target: 'nowhere' },
      { target: 'constructor' },
      { target: '../scratch' },
    ];
    for (const body of refused) {
      const r = await c.raw('POST', '/backups/restore', { latest: true, source: 'app', ...body });
      assert.equal(r.status, 403, `${JSON.stringify(body)}: ${r.text}`);
      const e = r.body as { code: string; message: string; hint: string };
      assert.equal(e.code, 'not_allowed');
      assert.ok(e.message.length < 200 && !e.message.includes('\n'), e.message);
      assert.match(`${e.message} ${e.hint}`, /restore_targets|hoard\.yaml/);
    }
    assert.equal(sock.connections(), 0, 'no connection was attempted');
    await assert.rejects(stat(outside), 'no file was made');
    assert.deepEqual(await readFile('/etc/hostname').catch(() => Buffer.alloc(0)), before);
    // without a target, a database goes back to its source; a declared folder works
    const plan = await c.raw('POST', '/backups/restore', { latest: true, source: 'app', dry_run: true });
    assert.equal(plan.status, 200, plan.text);
    assert.equal((plan.body as { target: string }).target, `sqlite:${path.join(dir, 'app.db')}`);
    await mkdir(path.join(dir, 'scratch'));
    const ok = await c.raw('POST', '/backups/restore', { latest: true, source: 'app', target: 'scratch' });
    assert.equal(ok.status, 202, ok.text);
    assert.equal((await until(c, (ok.body as { task_id: string }).task_id)).status, 'succeeded');
    assert.deepEqual(await readdir(path.join(dir, 'scratch')), ['app.db']);
    // files: only into hoard.yaml's places; the source's own folders restore in place with a safety snapshot
    const files = await c.raw('POST', '/backups/restore', { latest: true, source: 'files', target: '/tmp' });
    assert.equal(files.status, 403, files.text);
    await writeFile(path.join(dir, 'files', 'a.txt'), 'changed');
    const inPlace = await c.raw('POST', '/backups/restore', { latest: true, source: 'files', target: 'files' });
    assert.equal(inPlace.status, 202, inPlace.text);
    const done = await until(c, (inPlace.body as { task_id: string }).task_id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(await readFile(path.join(dir, 'files', 'a.txt'), 'utf8'), 'hello');
    const pre = done.result.pre_restore_snapshot_id as string;
    assert.match(pre, /^[0-9a-f]{64}$/, 'what the folder held was snapshotted first');
    const admin = createClient(base, ops.token);
    const shown = (await admin.raw('GET', `/backups/${pre.slice(0, 12)}`)).body as {
      backup: { kind: string; source: string };
    };
    assert.equal(shown.backup.kind, 'pre-restore');
    assert.equal(shown.backup.source, 'files');
  });

  it("in place, the folders above a source's path are never touched (a symlinked release folder stays a symlink); a planted restore target is refused", async (t) => {
    const dir = await tempDir(t, 'hoard-targets-inplace-');
    await mkdir(path.join(dir, 'releases', '1', 'uploads'), { recursive: true });
    await mkdir(path.join(dir, 'releases', '1', 'app'));
    await writeFile(path.join(dir, 'releases', '1', 'uploads', 'a.jpg'), 'photo');
    await writeFile(path.join(dir, 'releases', '1', 'app', 'main.js'), 'code');
    await symlink(path.join(dir, 'releases', '1'), path.join(dir, 'current'));
    const init = await hoard(['init', '--yes', '--no-backup', '--files', 'current/uploads'], {
      cwd: dir,
      env: CLEAN_ENV,
    });
    assert.equal(init.code, 0, init.stderr);
    const planted = path.join(dir, 'planted');
    const victim = path.join(dir, 'victim');
    await mkdir(victim);
    await symlink(victim, planted);
    if (process.getuid?.() === 0) await lchown(planted, 1234, 1234);
    await appendFile(path.join(dir, 'hoard.yaml'), `restore_targets:\n  planted: { path: planted }\n`);
    const source = /^ {2}([\w-]+):\n {4}type: files/m.exec(await readFile(path.join(dir, 'hoard.yaml'), 'utf8'))![1];
    const b = await hoard(['backup', source], { cwd: dir, env: CLEAN_ENV });
    assert.equal(b.code, 0, b.stderr);
    await writeFile(path.join(dir, 'current', 'uploads', 'a.jpg'), 'ransomed');
    const { ops } = await addServerSection(dir, [['ops', 'admin']]);
    const { base } = await serve(t, dir);
    const c = createClient(base, ops.token);
    const r = await c.raw('POST', '/backups/restore', { latest: true, source, target: source });
    assert.equal(r.status, 202, r.text);
    assert.equal((await until(c, (r.body as { task_id: string }).task_id)).status, 'succeeded');
    assert.equal(await readFile(path.join(dir, 'current', 'uploads', 'a.jpg'), 'utf8'), 'photo');
    assert.ok((await lstat(path.join(dir, 'current'))).isSymbolicLink(), 'the release link is still a link');
    assert.equal(await readFile(path.join(dir, 'releases', '1', 'app', 'main.js'), 'utf8'), 'code');
    if (process.getuid?.() !== 0) return;
    const p = await c.raw('POST', '/backups/restore', { latest: true, source, target: 'planted' });
    assert.equal(p.status, 403, p.text);
    assert.match(
      (p.body as { message: string }).message,
      /belongs to uid 1234 and is a symlink; hoard restores only into folders of its own user or root/,
    );
    assert.deepEqual(await readdir(victim), [], 'nothing was written where the planted link points');
  });

  it('PostgreSQL: a declared server is a target; protection follows the target, not the backup', async (t) => {
    if (!(await needPostgres(t))) return;
    const src = await pgDatabase(t);
    const other = await pgDatabase(t);
    await pgExec(
      src,
      'CREATE TABLE items (id int primary key, name text); INSERT INTO items SELECT g, md5(g::text) ' +
        'FROM generate_series(1, 50) g;',
    );
    await pgExec(other, 'CREATE TABLE old (id int);');
    const dir = await tempDir(t, 'hoard-targets-pg-');
    const made = await hoard(['init', '--repo', path.join(dir, '.hoard', 'repo')], {
      cwd: dir,
      env: { ...CLEAN_ENV, HOARD_PASSWORD: 'pw' },
    });
    assert.equal(made.code, 0, made.stderr);
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      [
        'repositories:',
        '  local: { url: "local:.hoard/repo", password: "file:.hoard/password" }',
        'environment: production',
        'environments:',
        '  production: { protected: true }',
        '  dev: { protected: false }',
        'sources:',
        `  shop: { type: postgres, url: "postgres://127.0.0.1:5432/${src}", environment: dev }`,
        `  live: { type: postgres, url: "postgres://127.0.0.1:5432/${other}", environment: production }`,
        // spelled without the port, unlike the sources: still the same server for protection
        'restore_targets:',
        '  server: { url: "postgres://127.0.0.1/", environment: dev }',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(dir, '.hoard', 'password'), 'pw\n', { mode: 0o600 });
    const bk = await hoard(['backup', 'shop'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(bk.code, 0, bk.stderr);
    const { restorer } = await addServerSection(dir, [['restorer', 'read,restore']]);
    const { base } = await serve(t, dir);
    const c = createClient(base, restorer.token);
    const copy = `${src}_copy`;
    t.after(() => dropPg(copy));
    const r = await c.raw('POST', '/backups/restore', {
      latest: true,
      source: 'shop',
      target: 'server',
      target_db: copy,
    });
    assert.equal(r.status, 202, r.text);
    assert.equal((await until(c, (r.body as { task_id: string }).task_id)).status, 'succeeded');
    assert.equal(await pgExec(copy, 'SELECT count(*) FROM items'), '50');
    // a dev backup into the production source's database: the target decides, so confirm is needed
    const into = await c.raw('POST', '/backups/restore', { latest: true, source: 'shop', target: 'live' });
    assert.equal(into.status, 403, into.text); // a backup of shop is not restored into live's own location
    const bypass = await c.raw('POST', '/backups/restore', {
      latest: true,
      source: 'shop',
      target: 'server',
      target_db: other,
    });
    assert.equal(bypass.status, 409, `the server target reaches live's database, which is production: ${bypass.text}`);
    assert.equal((bypass.body as { code: string }).code, 'confirmation_required');
    assert.equal(
      await pgExec(other, "SELECT count(*) FROM pg_tables WHERE tablename = 'old'"),
      '1',
      'nothing was changed',
    );
  });
});
