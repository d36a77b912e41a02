/**
 * Bad input to the everyday CLI gets a clear message, the documented exit code, and changes
 * nothing: unknown ids, ambiguous prefixes, shared labels, --at before the first snapshot,
 * protected environments in CI without --yes, missing, unreadable, newer and invalid configs.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, ROOT, hoard, waitForLock } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

let dir = '';
const cli = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir) =>
  hoard(args, { cwd, env: { ...CLEAN_ENV, ...env } });
type Rec = { id: string; short_id: string; source: string; kind: string };
const list = async (...f: string[]): Promise<Rec[]> => JSON.parse((await cli(['list', '--json', ...f])).stdout);

describe('bad input', () => {
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-bad-'));
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const r = await cli(['init', '--yes']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (let i = 0; i < 2; i++) assert.equal((await cli(['backup', '--label', 'shared'])).code, 0);
  });
  process.on('exit', () => {
    void rm(dir, { recursive: true, force: true });
  });

  it('an unknown id is "not found" (exit 1) and says where to look', async () => {
    const r = await cli(['info', 'ffffffffffff']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no snapshot with id or label "ffffffffffff"/);
    assert.match(r.stderr, /hoard list/);
  });

  it('an ambiguous prefix names the candidates', async () => {
    let prefix: string | undefined;
    for (let i = 0; i < 30 && !prefix; i++) {
      const ids = (await list()).map((x) => x.id[0]);
      prefix = ids.find((c, j) => ids.indexOf(c) !== j);
      if (!prefix) assert.equal((await cli(['backup'])).code, 0);
    }
    assert.ok(prefix, 'two snapshots share a first hex digit');
    const r = await cli(['info', prefix!]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`snapshot prefix ${prefix} is ambiguous: ${prefix}[0-9a-f]{7} \\(`));
    assert.match(r.stderr, /give more characters/);
  });

  it('a label on several snapshots is ambiguous unless --latest is said', async () => {
    const r = await cli(['restore', 'shared', '--dry-run']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the label shared is on 2 snapshots/);
    assert.match(r.stderr, /--name shared --latest/);
    const ok = await cli(['restore', '--name', 'shared', '--latest', '--dry-run']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /would restore \/app\.db/);
  });

  it('--at before the first snapshot says which is the first', async () => {
    const r = await cli(['restore', '--at', '2000-01-01 00:00', '--source', 'app', '--dry-run']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no snapshot of source app was taken at or before 2000-01-01.*; the first is [0-9a-f]{8}/);
    const bad = await cli(['restore', '--at', 'yesterday-ish', '--source', 'app']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot read the time/);
    const now = await cli(['restore', '--at', new Date().toISOString(), '--source', 'app', '--dry-run']);
    assert.equal(now.code, 0, now.stderr);
  });

  it('production in CI: restore, delete and cleanup refuse without --yes and change nothing; a backup prints a notice', async () => {
    const prod = { HOARD_ENVIRONMENT: 'production', CI: 'true' };
    assert.equal((await cli(['backup', 'app', '--kind', 'scheduled'], prod)).code, 0);
    const b = await cli(['backup', 'app', '--kind', 'scheduled'], prod);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /notice: backing up app in the protected environment production: about [\d.]+ KiB/);
    assert.match(b.stdout, /expires \d{4}-\d{2}-\d{2} \(in 90 d\)/, 'production keeps backups 90 days by default');
    const before = await readFile(path.join(dir, 'app.db'));
    const count = (await list()).length;
    const r = await cli(['restore', '--latest', '--source', 'app'], prod);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /refusing to restore snapshot [0-9a-f]{8} over the data in sqlite:.*app\.db in the protected environment production/,
    );
    assert.match(r.stderr, /add --yes/);
    const [latestProd] = (await list('--env', 'production')).slice(-1);
    const d = await cli(['delete', latestProd.short_id], prod);
    assert.equal(d.code, 1);
    assert.match(
      d.stderr,
      new RegExp(`refusing to delete backup ${latestProd.short_id} in the protected environment production`),
    );
    const c = await cli(['cleanup', '--older-than', '1s'], prod);
    assert.equal(c.code, 1, c.stdout);
    assert.match(c.stderr, /refusing to remove/);
    assert.deepEqual(await readFile(path.join(dir, 'app.db')), before);
    assert.equal((await list()).length, count, 'no pre-restore snapshot, nothing deleted');
    const yes = await cli(['restore', '--latest', '--source', 'app', '--yes', '--json'], prod);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(JSON.parse(yes.stdout).pre_restore_snapshot_id, /^[0-9a-f]{64}$/);
  });

  it('init in a project that has hoard.yaml changes nothing', async () => {
    const before = await readFile(path.join(dir, 'hoard.yaml'), 'utf8');
    const r = await cli(['init', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hoard\.yaml already exists; nothing was changed/);
    assert.equal(await readFile(path.join(dir, 'hoard.yaml'), 'utf8'), before);
  });

  it('a missing, unreadable or newer config is a clear error (exit 1)', async () => {
    const missing = await cli(['list', '--config', 'nope.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the config file .*nope\.yaml: it does not exist/);
    await mkdir(path.join(dir, 'adir.yaml'), { recursive: true });
    const unreadable = await cli(['list', '--config', 'adir.yaml']);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /cannot read the config file .*adir\.yaml: EISDIR/);
    const newer = path.join(dir, 'newer.yaml');
    await writeFile(newer, 'version: 7\nsomething_new: {}\n');
    const n = await cli(['list', '--config', newer]);
    assert.equal(n.code, 1);
    assert.match(
      n.stderr,
      /newer\.yaml:1: version: the file was written for a newer hoard \(config version 7; this hoard reads up to 1\)/,
    );
    assert.match(n.stderr, /upgrade hoard/);
  });

  const bad: [string, string, RegExp, RegExp][] = [
    [
      'an unknown key',
      'sources:\n  app:\n    type: sqlite\n    path: app.db\n    compress: true\n',
      /bad\.yaml:5: sources\.app\.compress: unknown key/,
      /remove it or fix its spelling/,
    ],
    [
      'a wrong type',
      'sources:\n  app:\n    type: sqlite\n    path: app.db\njobs:\n  nightly:\n    sources: [app]\n  ' +
        '  retention_days: "thirty"\n',
      /bad\.yaml:8: jobs\.nightly\.retention_days: must be a number/,
      /write a number here/,
    ],
    [
      'a job naming an unknown source',
      'sources:\n  app: { type: sqlite, path: app.db }\njobs:\n  nightly:\n    sources: [app, orders]\n',
      /bad\.yaml:5: jobs\.nightly\.sources\.1: names the source orders, which is not defined/,
      /use one of app, or define orders under sources:/,
    ],
    [
      'a bad schedule',
      'sources:\n  app: { type: sqlite, path: app.db }\njobs:\n  nightly:\n    sources: [app]\n    ' +
        'schedule: "daily at 26:00"\n',
      /bad\.yaml:6: jobs\.nightly\.schedule: daily at 26:00: the time must be between 00:00 and 23:59/,
      /fix the value/,
    ],
  ];
  for (const [what, text, msg, fix] of bad) {
    it(`a config with ${what} exits 1 naming the file, the line and the fix`, async () => {
      const f = path.join(dir, 'bad.yaml');
      await writeFile(f, text);
      const r = await cli(['list', '--config', f]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, msg);
      assert.match(r.stderr, fix);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  it('a missing secret exits 1 naming the file, the line and the fix, in check and in backup', async () => {
    const f = path.join(dir, 'secret.yaml');
    await writeFile(
      f,
      'repositories:\n  local: { url: .hoard/repo, password: "file:.hoard/password" }\nsources:\n  ' +
        'shop:\n    type: postgres\n    url: env:SHOP_DATABASE_URL\n',
    );
    const chk = await cli(['config', 'check', '--config', f]);
    assert.equal(chk.code, 1);
    assert.match(chk.stdout, /secret\.yaml:6: sources\.shop\.url: the variable SHOP_DATABASE_URL is not set/);
    assert.match(chk.stdout, /fix: export SHOP_DATABASE_URL=/);
    const b = await cli(['backup', 'shop', '--config', f]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /secret\.yaml:6 sources\.shop\.url: the variable SHOP_DATABASE_URL is not set/);
  });

  it('status warns about a stale lock (a killed backup) and a source never backed up; unlock clears it', async () => {
    const f = path.join(dir, 'status.yaml');
    await writeFile(
      f,
      'repositories:\n  local: { url: .hoard/repo, password: "file:.hoard/password" }\nsources:\n  app: ' +
        '{ type: sqlite, path: app.db }\n  later: { type: sqlite, path: later.db }\n',
    );
    const child = spawn(process.execPath, [CLI, 'backup', '--stdin', '--stdin-filename', 'x', '--config', f], {
      cwd: dir,
      env: { ...process.env, ...CLEAN_ENV },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.write(Buffer.alloc(1 << 16));
    await waitForLock(path.join(dir, '.hoard', 'repo'));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const st = JSON.parse((await cli(['status', '--json', '--config', f])).stdout);
    assert.equal(st.locks.stale, 1);
    assert.ok(
      st.warnings.some((w: string) => /1 stale lock\(s\) in the repository: run `hoard unlock`/.test(w)),
      st.warnings.join('; '),
    );
    assert.ok(st.warnings.some((w: string) => /later has never been backed up: run `hoard backup later`/.test(w)));
    const text = await cli(['status', '--config', f]);
    assert.match(text.stdout, /^later\s+sqlite\s+never/m);
    assert.match(text.stdout, /warning: 1 stale lock/);
    assert.equal((await cli(['unlock', '--config', f])).code, 0);
    assert.equal(JSON.parse((await cli(['status', '--json', '--config', f])).stdout).locks.total, 0);
  });

  it('precedence: flags > HOARD_* > hoard.yaml > defaults', async () => {
    const show = async (args: string[], env: NodeJS.ProcessEnv = {}) =>
      JSON.parse((await cli(['config', 'show', '--json', ...args], env)).stdout);
    const file = await show([]);
    assert.deepEqual(
      [file.environment.name, file.environment.from, file.environment.retention_days],
      ['dev', 'file', 30],
    );
    const env = await show([], { HOARD_ENVIRONMENT: 'staging' });
    assert.deepEqual(
      [env.environment.name, env.environment.from, env.environment.retention_days],
      ['staging', 'env', 60],
    );
    const flag = await show(['--environment', 'production'], { HOARD_ENVIRONMENT: 'staging' });
    assert.deepEqual(
      [flag.environment.name, flag.environment.from, flag.environment.protected],
      ['production', 'flag', true],
    );
    assert.equal(file.repository.from, 'file');
    assert.equal((await show([], { HOARD_REPOSITORY: '/elsewhere' })).repository.from, 'env');
    assert.equal((await show(['--repo', '/flagged'], { HOARD_REPOSITORY: '/elsewhere' })).repository.url, '/flagged');
  });
});
