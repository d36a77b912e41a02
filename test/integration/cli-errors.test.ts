/** The CLI's failure paths: each a short message, the documented exit code, and nothing wrong stored. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createLocalBackend } from '../../src/backends/local/local-backend.js';
import { openRepository } from '../../src/core/repository/open.js';
import { acquireLock } from '../../src/core/repository/locks.js';
import { textLike } from '../helpers/data.js';
import { hoard, run, tempDir } from '../helpers/services.js';

const PW = 'pw-for-tests';

async function setup(t: import('node:test').TestContext) {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
  assert.equal((await hoard(['init'], { env })).code, 0);
  return { dir, repo, env };
}

/** At most two lines on stderr and no stack trace. */
function assertShortError(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.ok(lines.length <= 2, `short message, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.match(stderr, re);
}

describe('CLI errors and exit codes', () => {
  it('wrong password exits 12 with one line and a hint', async (t) => {
    const { env } = await setup(t);
    const r = await hoard(['snapshots'], { env: { ...env, HOARD_PASSWORD: 'nope' } });
    assert.equal(r.code, 12);
    assertShortError(r.stderr, /wrong password/);
  });

  it('a missing repository exits 10; a repository path that is a file too', async (t) => {
    const dir = await tempDir(t);
    const r = await hoard(['snapshots'], { env: { HOARD_REPOSITORY: path.join(dir, 'nothing'), HOARD_PASSWORD: PW } });
    assert.equal(r.code, 10);
    assertShortError(r.stderr, /no repository at/);
    await fsp.writeFile(path.join(dir, 'file'), 'x');
    const f = await hoard(['snapshots'], { env: { HOARD_REPOSITORY: path.join(dir, 'file'), HOARD_PASSWORD: PW } });
    assert.equal(f.code, 10);
    assertShortError(f.stderr, /is a file, not a repository/);
    const i = await hoard(['init'], { env: { HOARD_REPOSITORY: path.join(dir, 'file'), HOARD_PASSWORD: PW } });
    assert.equal(i.code, 1);
    assertShortError(i.stderr, /is a file, not a folder/);
  });

  it('no password source exits 1 and names the variables', async (t) => {
    const { repo } = await setup(t);
    const r = await hoard(['snapshots'], { env: { HOARD_REPOSITORY: repo, HOARD_PASSWORD: '', RESTIC_PASSWORD: '' } });
    assert.equal(r.code, 1);
    assertShortError(r.stderr, /HOARD_PASSWORD/);
  });

  it('a repository held by an exclusive lock exits 11 naming the holder', async (t) => {
    const { repo, env, dir } = await setup(t);
    await fsp.writeFile(path.join(dir, 'f'), 'x');
    const r0 = await openRepository(createLocalBackend(repo), PW);
    const lock = await acquireLock(r0, true, {
      clock: { now: () => Date.now() },
      settleMs: 10,
      owner: { hostname: 'other-host', username: 'ops', pid: 4242, isProcessAlive: () => true },
    });
    t.after(() => lock.release());
    const r = await hoard(['backup', 'f'], { env, cwd: dir });
    assert.equal(r.code, 11);
    assertShortError(r.stderr, /locked.*PID 4242 on other-host/);
    await lock.release();
    assert.equal((await hoard(['backup', 'f'], { env, cwd: dir })).code, 0);
  });

  it('--stdin-from-command that fails leaves no snapshot and quotes the failure', async (t) => {
    const { env } = await setup(t);
    const r = await hoard(
      ['backup', '--stdin-from-command', '--', 'sh', '-c', 'echo partial; echo "dump broke" >&2; exit 3'],
      { env },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exited with status 3/);
    assert.match(r.stderr, /dump broke/);
    assert.match(r.stderr, /no snapshot was written/);
    const list = JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout);
    assert.equal(list.length, 0);
    const ok = await hoard(
      ['backup', '--stdin-from-command', '--stdin-filename', 'ok.txt', '--', 'sh', '-c', 'echo fine'],
      { env },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await hoard(['dump', 'latest', 'ok.txt'], { env })).stdout, 'fine\n');
  });

  it("an error that quotes a secret (a tool's stderr) is printed redacted, as text and as --json", async (t) => {
    const { env } = await setup(t);
    // (the tool's own stderr reaches the terminal as it comes, as the tool wrote it: only hoard's lines are checked)
    const tool = [
      'sh',
      '-c',
      'echo "cannot connect to postgres://u:dumpsecret@h/db (PGPASSWORD=pgsecret; mysql -pmysecret)" >&2; exit 3',
    ];
    const text = await hoard(['backup', '--stdin-from-command', '--', ...tool], { env });
    const json = await hoard(['backup', '--json', '--stdin-from-command', '--', ...tool], { env });
    assert.equal(text.code, 1);
    assert.equal(json.code, 1);
    const said = text.stderr
      .split('\n')
      .filter((l) => l.startsWith('hoard:'))
      .join('\n');
    const error = JSON.parse(json.stderr.trim().split('\n').at(-1)!);
    for (const line of [said, error.message]) {
      assert.match(line, /postgres:\/\/u:\*\*\*@h\/db \(PGPASSWORD=\*\*\*; mysql -p\*\*\*\)/);
      assert.doesNotMatch(line, /dumpsecret|pgsecret|mysecret/);
    }
    assert.doesNotMatch(JSON.stringify(error), /dumpsecret|pgsecret|mysecret/);
  });

  it('a path that does not exist exits 1 before writing anything', async (t) => {
    const { env, dir, repo } = await setup(t);
    const r = await hoard(['backup', 'no-such-dir'], { env, cwd: dir });
    assert.equal(r.code, 1);
    assertShortError(r.stderr, /path no-such-dir does not exist/);
    assert.deepEqual(await fsp.readdir(path.join(repo, 'snapshots')), []);
  });

  it('unknown flags and commands exit 1 with a hint', async () => {
    const a = await hoard(['backup', '--frobnicate']);
    assert.equal(a.code, 1);
    assertShortError(a.stderr, /unknown flag --frobnicate/);
    const b = await hoard(['frobnicate']);
    assert.equal(b.code, 1);
    assertShortError(b.stderr, /unknown command/);
  });

  it('unreadable files are reported, the backup goes on, exit 6', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to switch to an unprivileged user');
      return;
    }
    const { env, dir, repo } = await setup(t);
    const src = path.join(dir, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'ok.txt'), 'readable');
    await fsp.writeFile(path.join(src, 'secret.txt'), 'not for you', { mode: 0o000 });
    await fsp.chmod(path.join(src, 'secret.txt'), 0o000);
    await run('chmod', ['-R', 'a+rwX', repo, dir]);
    await fsp.chmod(path.join(src, 'secret.txt'), 0o000);
    const r = await run(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        path.resolve('dist/src/cli/main.js'),
        'backup',
        'src',
      ],
      { env: { ...env, HOME: dir }, cwd: dir },
    );
    assert.equal(r.code, 6, r.stdout + r.stderr);
    assert.match(r.stderr, /secret\.txt: permission denied/);
    const ls = await hoard(['ls', 'latest'], { env });
    assert.match(ls.stdout, /ok\.txt/);
    assert.doesNotMatch(ls.stdout, /secret\.txt/);
  });

  it('a flipped byte in a pack: check --read-data names pack and snapshot, exit 5; restore fails without writing wrong bytes', async (t) => {
    const { env, dir, repo } = await setup(t);
    const src = path.join(dir, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'data.sql'), textLike(2 * 1024 * 1024, 9));
    const b = JSON.parse((await hoard(['backup', '--json', '--compression', 'off', 'src'], { env, cwd: dir })).stdout);
    const packs: string[] = [];
    for (const d of await fsp.readdir(path.join(repo, 'data')))
      for (const f of await fsp.readdir(path.join(repo, 'data', d))) packs.push(path.join(repo, 'data', d, f));
    const sizes = await Promise.all(packs.map(async (p) => (await fsp.stat(p)).size));
    const dataPack = packs[sizes.indexOf(Math.max(...sizes))];
    await fsp.chmod(dataPack, 0o600);
    const bytes = await fsp.readFile(dataPack);
    bytes[1000] ^= 0x40;
    await fsp.writeFile(dataPack, bytes);
    const c = await hoard(['check', '--read-data'], { env });
    assert.equal(c.code, 5, c.stdout + c.stderr);
    assert.match(c.stdout, new RegExp(path.basename(dataPack).slice(0, 8)));
    assert.match(c.stdout, new RegExp(`snapshot ${b.snapshot_id.slice(0, 8)} is damaged: /src/data.sql`));
    const plain = await hoard(['check'], { env });
    assert.equal(plain.code, 0, 'structure alone is still sound');
    const out = path.join(dir, 'out');
    const r = await hoard(['restore', 'latest', '--target', out], { env });
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(r.stderr, /data\.sql/);
    const left = await fsp.readdir(path.join(out, 'src'));
    assert.deepEqual(left, [], 'neither the damaged file nor a temporary file is left');
  });

  it('damaged repository files give clear errors and exit codes', async (t) => {
    const { env, dir, repo } = await setup(t);
    await fsp.writeFile(path.join(dir, 'f'), 'x');
    assert.equal((await hoard(['backup', 'f'], { env, cwd: dir })).code, 0);
    const idx = (await fsp.readdir(path.join(repo, 'index')))[0];
    const ip = path.join(repo, 'index', idx);
    await fsp.chmod(ip, 0o600);
    await fsp.writeFile(ip, Buffer.from('random bytes instead of an index'));
    const r = await hoard(['restore', 'latest', '--target', path.join(dir, 'o')], { env });
    assert.equal(r.code, 5);
    assertShortError(r.stderr, new RegExp(`index ${idx.slice(0, 8)}`));
    const c = await hoard(['check'], { env });
    assert.equal(c.code, 5);
    const cfg = path.join(repo, 'config');
    await fsp.chmod(cfg, 0o600);
    await fsp.writeFile(cfg, Buffer.alloc(60, 1));
    const s = await hoard(['snapshots'], { env });
    assert.equal(s.code, 5);
    assertShortError(s.stderr, /config is damaged/);
  });
});
