/**
 * A hoard.yaml found by the upward search (and the .env beside it) is refused when it belongs to
 * another user (not root) or anyone may write to it: its `cmd:` secrets never run. A config named
 * with --config or HOARD_CONFIG is used as given. The CLI and the library (openHoard) follow the
 * same rule. Changing a file's owner needs root: those cases skip otherwise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lchown, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

const isRoot = process.getuid?.() === 0;
const exists = (f: string) =>
  stat(f).then(
    () => true,
    () => false,
  );

/** A project whose repository password is a `cmd:` secret that also touches a marker; a subfolder to run in. */
async function project(t: import('node:test').TestContext) {
  const dir = await tempDir(t, 'hoard-trust-');
  assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
  const marker = path.join(dir, 'MARKER');
  const file = path.join(dir, 'hoard.yaml');
  const yaml = (await readFile(file, 'utf8')).replace(
    'password: "file:.hoard/password"',
    `password: "cmd:touch '${marker}'; cat .hoard/password"`,
  );
  assert.match(yaml, /cmd:touch/);
  await writeFile(file, yaml);
  const sub = path.join(dir, 'sub', 'deeper');
  await mkdir(sub, { recursive: true });
  return { dir, file, sub, marker };
}

/** The refusal: two lines (what, whose; how to allow it), no stack trace. */
function assertRefused(stderr: string, file: string, why: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.ok(lines.length <= 2, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /);
  assert.ok(lines[0].startsWith(`hoard: refusing ${file}`), stderr);
  assert.match(lines[0], why);
  assert.match(lines[1], /--config .*hoard\.yaml \(or HOARD_CONFIG=/);
}

describe('trusting a found hoard.yaml', () => {
  it('one owned by another user is refused before any of it runs; --config and HOARD_CONFIG use it', {
    skip: !isRoot && 'needs root to chown',
  }, async (t) => {
    const { file, sub, marker } = await project(t);
    await chown(file, 1234, 1234);
    for (const args of [['list'], ['status'], ['backup']]) {
      const r = await hoard(args, { cwd: sub, env: CLEAN_ENV });
      assert.equal(r.code, 1, `${args}: ${r.stderr}`);
      assertRefused(r.stderr, file, /it belongs to uid 1234, not to you \(uid 0\) or root/);
    }
    const json = await hoard(['list', '--json'], { cwd: sub, env: CLEAN_ENV });
    assert.equal(JSON.parse(json.stderr).kind, 'config');
    assert.equal(await exists(marker), false, 'the cmd: secret did not run');

    const named = await hoard(['list', '--config', file], { cwd: sub, env: CLEAN_ENV });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(await exists(marker), true, 'a named config is used as given');
    await rm(marker);
    const byVar = await hoard(['list'], { cwd: sub, env: { ...CLEAN_ENV, HOARD_CONFIG: file } });
    assert.equal(byVar.code, 0, byVar.stderr);
    assert.equal(await exists(marker), true);
  });

  it("a symlink to your hoard.yaml in someone else's folder, and a hoard.yaml in a folder anyone may write, are refused", {
    skip: !isRoot && 'needs root to chown',
  }, async (t) => {
    const { file, marker } = await project(t);
    const evil = await tempDir(t, 'hoard-trust-evil-');
    await chmod(evil, 0o755);
    const link = path.join(evil, 'hoard.yaml');
    await symlink(file, link);
    await lchown(link, 1234, 1234);
    await chown(evil, 1234, 1234);
    await mkdir(path.join(evil, 'sub'));
    const r = await hoard(['list'], { cwd: path.join(evil, 'sub'), env: CLEAN_ENV });
    assert.equal(r.code, 1, r.stderr);
    assertRefused(r.stderr, link, /it belongs to uid 1234/);
    await lchown(link, 0, 0);
    const folder = await hoard(['list'], { cwd: path.join(evil, 'sub'), env: CLEAN_ENV });
    assert.equal(folder.code, 1, folder.stderr);
    assertRefused(folder.stderr, link, /its folder .* belongs to uid 1234/);
    const open = path.dirname(file);
    await chmod(open, 0o777);
    const shared = await hoard(['list'], { cwd: open, env: CLEAN_ENV });
    assertRefused(shared.stderr, file, /its folder .* may be written by anyone/);
    await chmod(open, 0o700);
    assert.equal(await exists(marker), false, 'no cmd: secret ran');
  });

  it('a .env owned by another user beside a found hoard.yaml is refused too', {
    skip: !isRoot && 'needs root to chown',
  }, async (t) => {
    const { dir, file, sub, marker } = await project(t);
    const dotenv = path.join(dir, '.env');
    await writeFile(dotenv, 'HOARD_TEST_X=1\n');
    await chown(dotenv, 1234, 1234);
    const r = await hoard(['list'], { cwd: sub, env: CLEAN_ENV });
    assert.equal(r.code, 1);
    assertRefused(r.stderr, dotenv, /it belongs to uid 1234/);
    assert.match(r.stderr, new RegExp(`--config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await exists(marker), false);
    assert.equal((await hoard(['list', '--config', file], { cwd: sub, env: CLEAN_ENV })).code, 0);
  });

  it('one anyone may write to is refused; once chmod o-w, it is used', async (t) => {
    const { file, sub, marker } = await project(t);
    await chmod(file, 0o666);
    const r = await hoard(['list'], { cwd: sub, env: CLEAN_ENV });
    assert.equal(r.code, 1);
    assertRefused(r.stderr, file, /anyone may write to it \(mode 0666\)/);
    assert.match(r.stderr, /chmod o-w /);
    assert.equal(await exists(marker), false);
    await chmod(file, 0o644);
    const ok = await hoard(['list'], { cwd: sub, env: CLEAN_ENV });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await exists(marker), true);
  });

  it("root's own file and the user's own file are used (no refusal for the common case)", async (t) => {
    const { sub } = await project(t);
    const r = await hoard(['list'], { cwd: sub, env: CLEAN_ENV });
    assert.equal(r.code, 0, r.stderr);
  });

  it('the library (openHoard) follows the same rule for its cwd search', {
    skip: !isRoot && 'needs root to chown',
  }, async (t) => {
    const { file, sub, marker } = await project(t);
    await chown(file, 1234, 1234);
    const { openHoard } = await import(path.join(ROOT, 'dist/src/index.js'));
    const vars = { ...process.env, ...CLEAN_ENV };
    await assert.rejects(
      openHoard({ cwd: sub, vars }),
      (e: { kind?: string; message?: string }) => e.kind === 'config' && e.message!.startsWith(`refusing ${file}`),
    );
    assert.equal(await exists(marker), false);
    const h = await openHoard({ cwd: sub, config: file, vars });
    assert.equal(h.configFile, file);
    assert.deepEqual(await h.list(), []);
    assert.equal(await exists(marker), true);
  });
});
