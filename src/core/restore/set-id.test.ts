/**
 * setuid and setgid survive a restore only where the restored item's owner is the node's: a
 * restore run as root without restoreOwner must not make setuid-root programs. Small files (worker
 * thread), large files (main thread) and folders. The machines run tests as root, so chown works.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { restoreTree } from './restore.js';
import { tempDir } from '../../../test/helpers/services.js';
import { type NodeSpec, memoryRepository, saveSnapshotOf } from '../../../test/helpers/node-tree.js';

const SMALL = 'small';
const LARGE = Buffer.alloc(1536 * 1024, 9);

/** Restores `entries` without and with restoreOwner; returns each name's mode and owner, both times. */
async function restoreBoth(t: TestContext, entries: Record<string, NodeSpec>, workers?: number) {
  const base = await tempDir(t, 'hoard-setid-');
  const repo = await memoryRepository();
  const tree = await saveSnapshotOf(repo, entries);
  const look = async (restoreOwner: boolean) => {
    const target = path.join(base, restoreOwner ? 'owner' : 'plain');
    const sum = await restoreTree(repo, tree, { target, restoreOwner, ...(workers !== undefined ? { workers } : {}) });
    assert.deepEqual(sum.errors, []);
    const out: Record<string, { mode: number; uid: number; gid: number }> = {};
    for (const name of Object.keys(entries)) {
      const st = fs.lstatSync(path.join(target, name));
      out[name] = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    }
    return out;
  };
  return { plain: await look(false), owner: await look(true) };
}

describe('setuid and setgid on restore', () => {
  const cases = [
    ['a small file on a writer thread', SMALL, 1],
    ['a small file on the calling thread', SMALL, 0],
    ['a large file', LARGE, 1],
  ] as const;
  for (const [label, file, workers] of cases) {
    it(`${label}: setuid only when owned by the node's uid, setgid only with its gid`, async (t) => {
      const r = await restoreBoth(
        t,
        {
          suid: { file, perms: 0o4755, uid: 1234, gid: 0 },
          sgid: { file, perms: 0o2755, uid: 0, gid: 2345 },
          both: { file, perms: 0o6755, uid: 1234, gid: 2345 },
          rootsuid: { file, perms: 0o4711, uid: 0, gid: 0 },
        },
        workers,
      );
      // as root without restoreOwner everything is owned by 0:0
      assert.deepEqual(r.plain.suid, { mode: 0o755, uid: 0, gid: 0 });
      assert.deepEqual(r.plain.sgid, { mode: 0o755, uid: 0, gid: 0 });
      assert.deepEqual(r.plain.both, { mode: 0o755, uid: 0, gid: 0 });
      assert.deepEqual(r.plain.rootsuid, { mode: 0o4711, uid: 0, gid: 0 }, 'owner matches: kept');
      assert.deepEqual(r.owner.suid, { mode: 0o4755, uid: 1234, gid: 0 });
      assert.deepEqual(r.owner.sgid, { mode: 0o2755, uid: 0, gid: 2345 });
      assert.deepEqual(r.owner.both, { mode: 0o6755, uid: 1234, gid: 2345 });
    });
  }

  it("a folder: setgid (and setuid) only when its owner matches the node's", async (t) => {
    const r = await restoreBoth(t, {
      sgid: { perms: 0o2775, uid: 0, gid: 2345, dir: { f: { file: 'f' } } },
      suid: { perms: 0o4755, uid: 1234, gid: 0, dir: {} },
    });
    assert.deepEqual(r.plain.sgid, { mode: 0o775, uid: 0, gid: 0 });
    assert.deepEqual(r.plain.suid, { mode: 0o755, uid: 0, gid: 0 });
    assert.deepEqual(r.owner.sgid, { mode: 0o2775, uid: 0, gid: 2345 });
    assert.deepEqual(r.owner.suid, { mode: 0o4755, uid: 1234, gid: 0 });
  });
});
