/**
 * What a files backup reads and stores of a file's metadata, and what a restore gives back:
 * backups leave access times alone and do not store them (restic's default; --with-atime stores
 * them), an unchanged empty file is unmodified, and restored times keep their nanoseconds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { REQUIRE, hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { nativeAddon } from '../../src/core/native.js';

/** A file's times as `stat` prints them, to the nanosecond: "atime mtime" in seconds.nanoseconds. */
const times = (p: string): string => execFileSync('stat', ['-c', '%.9X %.9Y', p]).toString().trim();
const OLD_ATIME = '2020-01-01 00:00:00.111111111';
const MTIME = '2021-03-04 05:06:07.123456789';

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: 'pw' };
  assert.equal((await hoard(['init'], { env })).code, 0);
  await fsp.mkdir(path.join(dir, 'src/sub'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'src/small.txt'), 'small file\n');
  await fsp.writeFile(path.join(dir, 'src/sub/large.bin'), Buffer.alloc(3 * 1024 * 1024, 7)); // read as a stream
  for (const f of ['small.txt', 'sub/large.bin']) {
    // an access time older than the modification time: any plain read updates it, even under relatime
    execFileSync('touch', ['-m', '-d', MTIME, path.join(dir, 'src', f)]);
    execFileSync('touch', ['-a', '-d', OLD_ATIME, path.join(dir, 'src', f)]);
  }
  return { dir, env };
}

const backup = async (env: Record<string, string>, cwd: string, extra: string[] = []) => {
  const r = await hoard(['backup', '--json', ...extra, 'src'], { env, cwd });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
};

describe('file metadata in backups and restores', () => {
  it('a backup leaves access times alone, and an access alone changes no tree', async (t) => {
    const { dir, env } = await setup(t);
    const files = ['src/small.txt', 'src/sub/large.bin'].map((f) => path.join(dir, f));
    const before = files.map(times);
    await backup(env, dir);
    assert.deepEqual(files.map(times), before, 'reading for the backup changed an access time');
    await fsp.readFile(files[0]); // someone else reads the files: their atimes change
    await fsp.readFile(files[1]);
    assert.notDeepEqual(files.map(times), before);
    const second = await backup(env, dir);
    assert.equal(second.tree_blobs, 0, 'a new access time stored a new tree');
    assert.equal(second.files_unmodified, 2);
    const ls = await hoard(['ls', '--json', 'latest'], { env });
    const small = ls.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((n) => n.name === 'small.txt');
    assert.equal(small.atime, small.mtime, 'the atime field holds the mtime, as restic stores it');
  });

  it('--with-atime stores the access time', async (t) => {
    const { dir, env } = await setup(t);
    await backup(env, dir, ['--with-atime']);
    const ls = await hoard(['ls', '--json', 'latest'], { env });
    const small = ls.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((n) => n.name === 'small.txt');
    assert.match(small.atime, /^2020-01-01T00:00:00\.111111111/);
    assert.notEqual(small.atime, small.mtime);
  });

  it('an unchanged empty file is unmodified in the next backup', async (t) => {
    const { dir, env } = await setup(t);
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(dir, `src/empty${i}`), '');
    const first = await backup(env, dir);
    assert.equal(first.files_new, 5);
    const second = await backup(env, dir);
    assert.equal(second.files_changed, 0, 'empty files were reported changed');
    assert.equal(second.files_unmodified, 5);
    assert.equal(second.tree_blobs, 0);
  });

  it('a restore keeps the nanoseconds of file, folder and symlink times, as restic does', async (t) => {
    if (!(await needRestic(t))) return;
    if (!nativeAddon()?.futimens) {
      // without the addon (no C compiler at install) times are right to the microsecond only
      if (REQUIRE) throw new Error('the native addon is not built but HOARD_TEST_REQUIRE_SERVICES=1');
      t.skip('the native addon is not built (npm install needs make and a C compiler)');
      return;
    }
    const { dir, env } = await setup(t);
    await fsp.symlink('small.txt', path.join(dir, 'src/link'));
    execFileSync('touch', ['-h', '-d', MTIME, path.join(dir, 'src/link')]);
    execFileSync('touch', ['-d', MTIME, path.join(dir, 'src/sub')]);
    await backup(env, dir);
    const r = await hoard(['restore', 'latest', '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 0, r.stderr);
    const rr = await restic(env.HOARD_REPOSITORY, 'pw', [
      'restore',
      'latest',
      '--target',
      path.join(dir, 'out-restic'),
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    const src = path.join(dir, 'src');
    const mtimeOf = (p: string): string => times(p).split(' ')[1];
    for (const f of ['small.txt', 'sub/large.bin', 'sub', 'link']) {
      const want = mtimeOf(path.join(src, f));
      assert.match(want, /\.123456789$/);
      const ours = path.join(dir, 'out', 'src', f);
      assert.equal(mtimeOf(ours), want, `hoard restored ${f} with another mtime`);
      assert.equal(mtimeOf(path.join(dir, 'out-restic', 'src', f)), want, `restic restored ${f} with another mtime`);
    }
    const [atime, mtime] = times(path.join(dir, 'out', 'src', 'small.txt')).split(' ');
    assert.equal(atime, mtime, 'the stored atime (the mtime) is restored to the nanosecond');
  });
});
