/**
 * A restore's bookkeeping: the summary counts every file and byte however many are written at once,
 * and an interrupted restore settles only when nothing of it is still running (no descriptor left
 * open, nothing written into the target after it returned); a restore whose walk fails while a
 * small file's blobs are still loading settles with that failure instead of waiting forever.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { restoreTree } from './restore.js';
import { HoardError, isHoardError } from '../errors.js';
import { tempDir } from '../../../test/helpers/services.js';
import { type NodeSpec, memoryRepository, saveSnapshotOf } from '../../../test/helpers/node-tree.js';

function listing(dir: string): string {
  return JSON.stringify(
    fs
      .readdirSync(dir, { recursive: true })
      .sort()
      .map((p) => [p, fs.lstatSync(path.join(dir, String(p))).size]),
  );
}

describe('restore bookkeeping', () => {
  it('counts the bytes of files written concurrently', async (t) => {
    const target = await tempDir(t, 'hoard-bookkeeping-');
    const repo = await memoryRepository();
    const entries: Record<string, NodeSpec> = {};
    for (let i = 0; i < 300; i++) entries[`f${i}`] = { file: Buffer.alloc(1000 + i, i) };
    entries.big = { file: Buffer.alloc(1536 * 1024, 1) };
    const sum = await restoreTree(repo, await saveSnapshotOf(repo, entries), { target });
    assert.equal(sum.files, 301);
    assert.equal(sum.bytes, 300 * 1000 + (299 * 300) / 2 + 1536 * 1024);
  });

  it('an interrupted restore returns only when its file tasks have stopped', async (t) => {
    const target = await tempDir(t, 'hoard-bookkeeping-');
    const repo = await memoryRepository();
    const entries: Record<string, NodeSpec> = {};
    for (let i = 0; i < 4; i++) entries[`big${i}`] = { dir: { f: { file: Buffer.alloc(3 * 1024 * 1024, i) } } };
    for (let i = 0; i < 50; i++) entries[`small${i}`] = { dir: { f: { file: `small ${i}` } } };
    const tree = await saveSnapshotOf(repo, entries);
    const ac = new AbortController();
    const load = repo.loadStoredBlob.bind(repo);
    let loads = 0;
    repo.loadStoredBlob = async (type, id, signal) => {
      if (type === 'data' && ++loads === 12) ac.abort(); // the large files are being written by then
      return load(type, id, signal);
    };
    await assert.rejects(restoreTree(repo, tree, { target, signal: ac.signal }), (e) => isHoardError(e, 'interrupted'));
    const open = fs.readdirSync('/proc/self/fd').map((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '?';
      }
    });
    assert.deepEqual(
      open.filter((l) => l.startsWith(target)),
      [],
      'no descriptor left open in the target',
    );
    const now = listing(target);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(listing(target), now, 'nothing written after it returned');
  });

  it('a tree that fails to load while small files are still loading fails the restore, never hangs it', async (t) => {
    const target = await tempDir(t, 'hoard-bookkeeping-');
    const repo = await memoryRepository();
    const tree = await saveSnapshotOf(repo, {
      a: { file: 'small a' },
      b: { file: 'small b' },
      sub: { dir: { c: { file: 'small c' } } },
    });
    const loadStored = repo.loadStoredBlob.bind(repo);
    // the small files' blobs arrive only after the walk has failed and the writer has closed
    repo.loadStoredBlob = async (type, id, signal) => {
      if (type === 'data') await new Promise((r) => setTimeout(r, 300));
      return loadStored(type, id, signal);
    };
    const loadBlob = repo.loadBlob.bind(repo);
    let trees = 0;
    repo.loadBlob = async (type, id, signal) => {
      if (type === 'tree' && ++trees === 2) throw new HoardError('corrupt', `tree ${id.slice(0, 8)} is damaged`);
      return loadBlob(type, id, signal);
    };
    await assert.rejects(restoreTree(repo, tree, { target }), (e) => isHoardError(e, 'corrupt'));
  });
});
