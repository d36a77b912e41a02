/**
 * The one conformance suite every storage backend passes (contract: ./backend.ts). Call it from a
 * test file with a factory that returns a fresh backend.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isHoardError } from '../errors.js';
import { type Backend, type FileType, FILE_TYPES } from './backend.js';

export interface ConformanceFixture {
  backend: Backend;
  cleanup(): Promise<void>;
  /** Plants a file at a raw layout path (for junk-name tests); optional. */
  plantJunk?(relPath: string): Promise<void>;
}

const name = () => randomBytes(32).toString('hex');

async function listNames(b: Backend, t: Exclude<FileType, 'config'>): Promise<string[]> {
  const out: string[] = [];
  for await (const f of b.list(t)) out.push(f.name);
  return out.sort();
}

async function rejectsKind(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (e) => isHoardError(e) && e.kind === kind);
}

/** Registers the conformance tests for one backend. */
export function backendConformance(label: string, make: () => Promise<ConformanceFixture>): void {
  describe(`storage conformance: ${label}`, () => {
    const withB = (fn: (f: ConformanceFixture) => Promise<void>) => async () => {
      const f = await make();
      try {
        await fn(f);
      } finally {
        await f.cleanup();
      }
    };

    it(
      'create, exists, config round trip',
      withB(async ({ backend: b }) => {
        await b.create();
        assert.equal(await b.exists(), false);
        await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
        assert.equal(await b.exists(), true);
        assert.equal((await b.load({ type: 'config', name: '' })).toString(), 'cfg');
        await rejectsKind(b.create(), 'io');
      }),
    );

    it(
      'save, load, stat, list and remove every file type',
      withB(async ({ backend: b }) => {
        await b.create();
        for (const t of FILE_TYPES.filter((x): x is Exclude<FileType, 'config'> => x !== 'config')) {
          const n = name();
          const data = randomBytes(1000);
          await b.save({ type: t, name: n }, data);
          assert.deepEqual(await b.load({ type: t, name: n }), data);
          assert.deepEqual(await b.load({ type: t, name: n }, { offset: 10, length: 20 }), data.subarray(10, 30));
          assert.equal((await b.stat({ type: t, name: n })).size, 1000);
          assert.deepEqual(await listNames(b, t), [n]);
          await b.remove({ type: t, name: n });
          await b.remove({ type: t, name: n }); // idempotent
          assert.deepEqual(await listNames(b, t), []);
        }
      }),
    );

    it(
      'missing files are not-found; ranges past the end are corrupt',
      withB(async ({ backend: b }) => {
        await b.create();
        await rejectsKind(b.load({ type: 'index', name: name() }), 'not-found');
        await rejectsKind(b.stat({ type: 'snapshot', name: name() }), 'not-found');
        const n = name();
        await b.save({ type: 'data', name: n }, Buffer.alloc(100));
        await rejectsKind(b.load({ type: 'data', name: n }, { offset: 90, length: 20 }), 'corrupt');
      }),
    );

    it(
      'saving a name twice: identical content is a no-op, different content fails',
      withB(async ({ backend: b }) => {
        await b.create();
        const n = name();
        await b.save({ type: 'snapshot', name: n }, Buffer.from('a'));
        await b.save({ type: 'snapshot', name: n }, Buffer.from('a'));
        await rejectsKind(b.save({ type: 'snapshot', name: n }, Buffer.from('b')), 'io');
        assert.equal((await b.load({ type: 'snapshot', name: n })).toString(), 'a');
      }),
    );

    it(
      'list ignores names that are not 64 hex characters',
      withB(async (f) => {
        await f.backend.create();
        if (!f.plantJunk) return;
        await f.plantJunk('index/not-an-id');
        await f.plantJunk(`index/${name()}-tmp-123`);
        await f.plantJunk('data/zz/abc');
        assert.deepEqual(await listNames(f.backend, 'index'), []);
        assert.deepEqual(await listNames(f.backend, 'data'), []);
      }),
    );

    it(
      'a 20 MiB file and 50 concurrent saves',
      withB(async ({ backend: b }) => {
        await b.create();
        const big = randomBytes(20 * 1024 * 1024);
        const n = name();
        await b.save({ type: 'data', name: n }, big);
        assert.ok((await b.load({ type: 'data', name: n })).equals(big));
        const names = Array.from({ length: 50 }, name);
        await Promise.all(names.map((x) => b.save({ type: 'data', name: x }, randomBytes(100))));
        assert.deepEqual(await listNames(b, 'data'), [...names, n].sort());
      }),
    );

    it(
      'loaded buffers are copies: mutating them does not change the store',
      withB(async ({ backend: b }) => {
        await b.create();
        const n = name();
        const data = Buffer.from('immutable');
        await b.save({ type: 'key', name: n }, data);
        data[0] = 0x58;
        const got = await b.load({ type: 'key', name: n });
        got[1] = 0x58;
        assert.equal((await b.load({ type: 'key', name: n })).toString(), 'immutable');
      }),
    );
  });
}
