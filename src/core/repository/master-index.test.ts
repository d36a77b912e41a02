/** The compact master index keeps the Map it replaced's answers: first location wins, packs keep their first listing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { PackedBlob } from '../format/pack.js';
import { MasterIndex } from './master-index.js';

const id = (s: string | number) => createHash('sha256').update(String(s)).digest('hex');
const blob = (n: number, type: 'data' | 'tree' = 'data', extra: Partial<PackedBlob> = {}): PackedBlob => ({
  id: id(n),
  type,
  offset: n * 10,
  length: 100 + n,
  ...extra,
});

describe('MasterIndex', () => {
  it('finds each of 50,000 blobs in its pack and nothing else', () => {
    const m = new MasterIndex();
    for (let p = 0; p < 500; p++) {
      m.addIndexFile({
        packs: [
          {
            id: id(`pack${p}`),
            blobs: Array.from({ length: 100 }, (_, i) =>
              blob(p * 100 + i, i % 7 ? 'data' : 'tree', i % 3 ? { uncompressedLength: 5000 + i } : {}),
            ),
          },
        ],
      });
    }
    assert.equal(m.blobCount, 50_000);
    assert.equal(m.packs.size, 500);
    for (const n of [0, 1, 6, 7, 12345, 49_999]) {
      const type = (n % 100) % 7 ? 'data' : 'tree';
      const l = m.lookup(type, id(n))!;
      assert.equal(l.pack, id(`pack${Math.floor(n / 100)}`));
      assert.deepEqual(
        [l.id, l.type, l.offset, l.length, l.uncompressedLength],
        [id(n), type, n * 10, 100 + n, (n % 100) % 3 ? 5000 + (n % 100) : undefined],
      );
      assert.equal(m.plainSize(type, id(n)), (n % 100) % 3 ? 5000 + (n % 100) : 100 + n - 32);
      assert.equal(m.has(type === 'data' ? 'tree' : 'data', id(n)), false, 'the type is part of the key');
    }
    assert.equal(m.has('data', id('absent')), false);
    assert.equal(m.has('data', 'not hex'), false);
    assert.equal(m.packs.get(id('pack3'))!.length, 100);
    assert.deepEqual(m.packs.get(id('pack3'))![5], blob(305, 'data', { uncompressedLength: 5005 }));
  });

  it('keeps the first location of a duplicate and the first listing of a pack, as before', () => {
    const m = new MasterIndex();
    m.addIndexFile({ packs: [{ id: id('A'), blobs: [blob(1), blob(2)] }] });
    m.addIndexFile({ packs: [{ id: id('B'), blobs: [blob(2, 'data', { offset: 999 }), blob(3)] }] });
    m.addIndexFile({ packs: [{ id: id('A'), blobs: [blob(1), blob(4)] }] }); // A listed again, with a blob new to the index
    assert.equal(m.lookup('data', id(2))!.pack, id('A'), 'the first location wins');
    assert.deepEqual(
      m.packs.get(id('B'))!.map((b) => b.offset),
      [999, 30],
      'a pack lists its duplicate too',
    );
    assert.deepEqual(
      m.packs.get(id('A'))!.map((b) => b.id),
      [id(1), id(2)],
      'a pack keeps its first listing',
    );
    assert.equal(m.lookup('data', id(4))!.pack, id('A'), 'a new blob of a known pack is still found');
    assert.equal(m.blobCount, 4);
    assert.deepEqual([...m.packs.keys()], [id('A'), id('B')]);
    assert.equal(m.lookup('data', id(1).toUpperCase())!.id, id(1), 'ids are bytes: any hex case finds them');
  });

  it('clear forgets everything, and pending packs are handed out once', () => {
    const m = new MasterIndex();
    m.addStoredPack({ id: id('P'), blobs: [blob(1)] });
    assert.equal(m.pendingCount, 1);
    assert.throws(() => m.clear());
    assert.equal(m.takePending().length, 1);
    m.clear();
    assert.equal(m.has('data', id(1)), false);
    assert.equal(m.packs.size, 0);
    m.addIndexFile({ packs: [{ id: id('Q'), blobs: [blob(2)] }] });
    assert.equal(m.lookup('data', id(2))!.pack, id('Q'));
    assert.deepEqual(
      m.packs.get(id('Q'))!.map((b) => b.id),
      [id(2)],
      'a pack after clear lists only its own blobs',
    );
  });
});
