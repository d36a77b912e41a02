/**
 * Restores into a target someone else can write to: symlinks left at a file's or a folder's name,
 * at a folder above an item, swapped in while the restore runs, a file where a folder goes. Nothing
 * outside the target is written, chmod'ed or chown'ed. Runs as root (the machines run tests so),
 * where following a link would do the most harm; the fallback without /proc/self/fd is run too.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { type RestoreSeams, restoreTree, restoreTreeWith } from './restore.js';
import type { Repository } from '../repository/repository.js';
import { tempDir } from '../../../test/helpers/services.js';
import { NODE_TIME_MS, type NodeSpec, memoryRepository, saveSnapshotOf } from '../../../test/helpers/node-tree.js';

/** A folder outside the target holding a file, with owner, modes and times a restore must not change. */
async function outsideDir(base: string): Promise<{ dir: string; untouched(): void }> {
  const dir = path.join(base, 'outside');
  await fsp.mkdir(dir);
  await fsp.writeFile(path.join(dir, 'victim'), 'precious');
  await fsp.chown(path.join(dir, 'victim'), 4321, 4321);
  await fsp.chmod(path.join(dir, 'victim'), 0o640);
  await fsp.utimes(path.join(dir, 'victim'), 1000, 1000);
  await fsp.chmod(dir, 0o711);
  await fsp.utimes(dir, 2000, 2000);
  const look = () => {
    const st = (p: string) => {
      const s = fs.lstatSync(p);
      return [s.mode, s.uid, s.gid, s.mtimeMs, s.size];
    };
    return JSON.stringify([
      fs.readdirSync(dir).sort(),
      st(dir),
      st(path.join(dir, 'victim')),
      fs.readFileSync(path.join(dir, 'victim'), 'utf8'),
    ]);
  };
  const before = look();
  return { dir, untouched: () => assert.equal(look(), before, 'the folder outside the target changed') };
}

/** A temporary folder with a folder outside the target and the target (made). */
async function scene(t: TestContext) {
  const base = await tempDir(t, 'hoard-hostile-');
  const out = await outsideDir(base);
  const target = path.join(base, 'target');
  await fsp.mkdir(target);
  return { out, target };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Calls `swap` (once) when the restore asks for the data blob of `content`: after its folder was made, before the file is in place. */
function onLoad(repo: Repository, content: Buffer, swap: () => void): void {
  const load = repo.loadStoredBlob.bind(repo);
  const ids = new Set([sha(content.subarray(0, 512 * 1024))]);
  let done = false;
  repo.loadStoredBlob = async (type, id, signal) => {
    if (type === 'data' && ids.has(id) && !done) {
      done = true;
      swap();
    }
    return load(type, id, signal);
  };
}

const modes: [string, RestoreSeams][] = [
  ['held by descriptor', {}],
  ['by path (no /proc/self/fd)', { byPath: true }],
];

describe('restore into a hostile target', () => {
  for (const [how, seams] of modes) {
    describe(how, () => {
      it("a symlink at a file's name is replaced; the file it points to is untouched", async (t) => {
        const { out, target } = await scene(t);
        await fsp.symlink(path.join(out.dir, 'victim'), path.join(target, 'f'));
        await fsp.symlink(path.join(out.dir, 'victim'), path.join(target, 'big'));
        const repo = await memoryRepository();
        const big = Buffer.alloc(1536 * 1024, 7);
        const tree = await saveSnapshotOf(repo, {
          f: { file: 'new', perms: 0o600, uid: 1234 },
          big: { file: big, perms: 0o600, uid: 1234 },
        });
        const sum = await restoreTreeWith(repo, tree, { target, restoreOwner: true }, seams);
        assert.deepEqual(sum.errors, []);
        assert.ok(fs.lstatSync(path.join(target, 'f')).isFile());
        assert.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'new');
        assert.ok(fs.readFileSync(path.join(target, 'big')).equals(big));
        out.untouched();
      });

      it('a folder after a symlink of the same name (two snapshots, one target): a real folder, nothing written outside', async (t) => {
        const { out, target } = await scene(t);
        const repo = await memoryRepository();
        const first = await saveSnapshotOf(repo, { a: { link: out.dir } });
        const second = await saveSnapshotOf(repo, {
          a: { perms: 0o700, uid: 1234, dir: { x: { file: 'x', perms: 0o666 }, victim: { file: 'no' } } },
        });
        assert.deepEqual((await restoreTreeWith(repo, first, { target }, seams)).errors, []);
        assert.ok(fs.lstatSync(path.join(target, 'a')).isSymbolicLink());
        const sum = await restoreTreeWith(repo, second, { target, restoreOwner: true }, seams);
        assert.deepEqual(sum.errors, []);
        out.untouched();
        const a = fs.lstatSync(path.join(target, 'a'));
        assert.ok(a.isDirectory(), 'a real folder');
        assert.equal(a.mode & 0o7777, 0o700);
        assert.equal(a.uid, 1234);
        assert.equal(Math.floor(a.mtimeMs), NODE_TIME_MS, 'folder times after its children');
        assert.equal(fs.readFileSync(path.join(target, 'a', 'x'), 'utf8'), 'x');
      });

      it('a symlink at a folder above the item: nothing written outside', async (t) => {
        const { out, target } = await scene(t);
        await fsp.symlink(out.dir, path.join(target, 'sub'));
        const repo = await memoryRepository();
        const tree = await saveSnapshotOf(repo, {
          sub: { perms: 0o777, dir: { deep: { dir: { file: { file: 'f' } } }, victim: { file: 'overwritten' } } },
        });
        const sum = await restoreTreeWith(repo, tree, { target }, seams);
        assert.deepEqual(sum.errors, []);
        out.untouched();
        assert.ok(fs.lstatSync(path.join(target, 'sub')).isDirectory());
        assert.equal(fs.readFileSync(path.join(target, 'sub', 'deep', 'file'), 'utf8'), 'f');
      });

      it('a regular file where a folder goes: left as it is, the folder and all below it reported', async (t) => {
        const { target } = await scene(t);
        await fsp.writeFile(path.join(target, 'a'), 'keep me');
        const repo = await memoryRepository();
        const tree = await saveSnapshotOf(repo, {
          a: { dir: { x: { file: 'x' }, sub: { dir: { y: { file: 'y' } } } } },
          b: { file: 'b' },
        });
        const sum = await restoreTreeWith(repo, tree, { target }, seams);
        assert.equal(fs.readFileSync(path.join(target, 'a'), 'utf8'), 'keep me');
        assert.equal(fs.readFileSync(path.join(target, 'b'), 'utf8'), 'b', 'the rest is restored');
        assert.deepEqual(
          sum.errors.map((e) => [e.path, e.kind]),
          [
            ['/a', 'io'],
            ['/a/sub', 'io'],
            ['/a/sub/y', 'io'],
            ['/a/x', 'io'],
          ],
        );
        assert.match(sum.errors[0].message, /a regular file is in the way/);
        for (const e of sum.errors.slice(1))
          assert.match(e.message, /not restored: the folder \/a could not be restored/);
      });

      it('a symlink to a file where a folder goes: the link is removed, not followed, and a folder made', async (t) => {
        const { out, target } = await scene(t);
        await fsp.symlink(path.join(out.dir, 'victim'), path.join(target, 'a'));
        const repo = await memoryRepository();
        const tree = await saveSnapshotOf(repo, { a: { perms: 0o700, dir: { x: { file: 'x' } } } });
        assert.deepEqual((await restoreTreeWith(repo, tree, { target, restoreOwner: true }, seams)).errors, []);
        out.untouched();
        assert.equal(fs.readFileSync(path.join(target, 'a', 'x'), 'utf8'), 'x');
      });
    });
  }

  for (const [size, label] of [
    [100, 'small file (worker thread)'],
    [1536 * 1024, 'large file (main thread)'],
  ] as const) {
    it(`a folder swapped for a symlink while the restore runs, ${label}: written into the held folder, nothing outside`, async (t) => {
      const { out, target } = await scene(t);
      const repo = await memoryRepository();
      const content = Buffer.alloc(size, 3);
      const tree = await saveSnapshotOf(repo, {
        a: { perms: 0o750, dir: { sub: { perms: 0o750, dir: { victim: { file: content, perms: 0o777 } } } } },
      });
      // Once a/sub/ is made (the file's content is being fetched): it goes, a symlink to outside takes its name.
      const sub = path.join(target, 'a', 'sub');
      onLoad(repo, content, () => {
        fs.renameSync(sub, `${sub}.moved`);
        fs.symlinkSync(out.dir, sub);
      });
      const sum = await restoreTree(repo, tree, { target, restoreOwner: true });
      assert.deepEqual(sum.errors, []);
      out.untouched();
      assert.ok(
        fs.readFileSync(path.join(`${sub}.moved`, 'victim')).equals(content),
        'written into the folder it made',
      );
      assert.equal(fs.lstatSync(`${sub}.moved`).mode & 0o7777, 0o750, 'and its metadata set there');
      assert.ok(fs.lstatSync(sub).isSymbolicLink(), 'the planted link is left alone');
    });
  }

  it('holds a folder only while its subtree is restored, and nothing after the restore', async (t) => {
    const { target } = await scene(t);
    const repo = await memoryRepository();
    const entries: Record<string, NodeSpec> = {};
    for (let i = 0; i < 1000; i++) entries[`d${i}`] = { dir: { f: { file: `file ${i}` } } };
    const tree = await saveSnapshotOf(repo, entries);
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    let most = 0;
    const load = repo.loadStoredBlob.bind(repo);
    repo.loadStoredBlob = async (type, id, signal) => {
      most = Math.max(most, fds());
      return load(type, id, signal);
    };
    const sum = await restoreTree(repo, tree, { target, workers: 0 });
    assert.equal(sum.files, 1000);
    // at most one folder per file in flight (256) and the folders above them
    assert.ok(most - before < 300, `${most - before} more descriptors open during the restore`);
    assert.equal(fds(), before, 'none left open');
  });
});
