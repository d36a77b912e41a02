/** The restore's summary counts every file and byte, however many files are written at once. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { restoreTree } from './restore.js';
import { type NodeSpec, memoryRepository, saveSnapshotOf } from '../../../test/helpers/node-tree.js';

describe('restore summary', () => {
  it('counts the bytes of files written concurrently', async (t) => {
    const target = await fsp.mkdtemp(path.join(os.tmpdir(), 'hoard-summary-'));
    t.after(() => fsp.rm(target, { recursive: true, force: true }));
    const repo = await memoryRepository();
    const entries: Record<string, NodeSpec> = {};
    for (let i = 0; i < 300; i++) entries[`f${i}`] = { file: Buffer.alloc(1000 + i, i) };
    entries.big = { file: Buffer.alloc(1536 * 1024, 1) };
    const sum = await restoreTree(repo, await saveSnapshotOf(repo, entries), { target });
    assert.equal(sum.files, 301);
    assert.equal(sum.bytes, 300 * 1000 + (299 * 300) / 2 + 1536 * 1024);
  });
});
