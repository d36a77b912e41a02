/** check --read-data on the pack-checker threads: every damaged pack is found, and reported in pack order. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkRepository } from './check.js';
import { memoryFiles } from '../storage/memory.js';
import { memoryRepository } from '../../../test/helpers/node-tree.js';
import { hashId } from '../crypto/id.js';

describe('check --read-data with pack-checker threads', () => {
  it('finds each damaged pack among several and reports them in the order of the index', async () => {
    const repo = await memoryRepository();
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(5 * 1024 * 1024); // random: stored as it is, so 4 blobs fill a pack
      await repo.saveBlob('data', hashId(data), data);
    }
    await repo.flush();
    const packs = [...repo.index.packs.keys()];
    assert.ok(packs.length >= 4, `${packs.length} packs`);
    const files = memoryFiles(repo.backend);
    const damaged = [packs[0], packs[2], packs[3]];
    for (const p of damaged) {
      const name = [...files.keys()].find((k) => k.endsWith(p))!;
      const bytes = Buffer.from(files.get(name)!);
      bytes[1000] ^= 0xff;
      files.set(name, bytes);
    }
    const s = await checkRepository(repo, { readData: true });
    assert.equal(s.packsRead, packs.length);
    assert.deepEqual(s.damagedPacks, damaged);
    assert.deepEqual(
      s.errors.map((e) => e.slice(5, 13)),
      damaged.map((p) => p.slice(0, 8)),
      'problems in pack order',
    );
  });
});
