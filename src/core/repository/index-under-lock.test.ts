import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBackend } from '../storage/memory.js';
import type { Backend } from '../storage/backend.js';
import { isHoardError } from '../errors.js';
import { initRepository, openRepository } from './open.js';
import { acquireLock } from './locks.js';
import { encodeIndex } from '../format/index-file.js';
import type { Repository } from './repository.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lockOptions = {
  clock: { now: () => Date.now() },
  settleMs: 1,
  owner: { hostname: 'h', username: 'u', pid: process.pid, isProcessAlive: () => true },
};

async function store(repo: Repository, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = randomBytes(500 + i);
    ids.push(sha(b));
    await repo.saveBlob('data', sha(b), b);
  }
  await repo.flush();
  return ids;
}

/** A handle as the CLI opens one: its index is read under each lock it takes. */
async function underLock(backend: Backend): Promise<Repository> {
  return openRepository(backend, 'pw', { indexUnderLock: true });
}

describe('the index is read under the lock', () => {
  it('is not read before a lock is taken, and using it before then is a loud error', async () => {
    const mem = createMemoryBackend();
    await store(await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } }), 3);
    const repo = await underLock(mem);
    assert.throws(
      () => repo.hasBlob('data', '00'.repeat(32)),
      (e) => isHoardError(e, 'internal'),
    );
    const lock = await acquireLock(repo, false, lockOptions);
    assert.equal(repo.index.blobCount, 3);
    await lock.release();
  });

  it('catches up at each lock with what other processes added, and starts afresh after a prune rewrote the index', async () => {
    const mem = createMemoryBackend();
    const other = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    const first = await store(other, 3);
    const repo = await underLock(mem);
    let lock = await acquireLock(repo, false, lockOptions);
    assert.ok(first.every((id) => repo.hasBlob('data', id)));
    const mine = await store(repo, 2); // written by this handle: its own index file is not read again
    await lock.release();

    const added = await store(other, 4);
    lock = await acquireLock(repo, false, lockOptions);
    assert.equal(repo.index.blobCount, 9);
    assert.ok([...first, ...mine, ...added].every((id) => repo.hasBlob('data', id)));
    await lock.release();

    // as a prune does: the index files are replaced by one that lists only the packs it keeps
    const pruner = await openRepository(mem, 'pw');
    await pruner.loadIndex();
    const names: string[] = [];
    for await (const f of mem.list('index')) names.push(f.name);
    const kept = [...pruner.index.packs].filter(([, blobs]) => blobs.some((b) => added.includes(b.id)));
    await pruner.saveUnpacked('index', encodeIndex({ packs: kept.map(([id, blobs]) => ({ id, blobs })) }));
    for (const n of names) await mem.remove({ type: 'index', name: n });

    lock = await acquireLock(repo, false, lockOptions);
    assert.equal(repo.index.blobCount, added.length, 'blobs the prune dropped are gone from the index');
    assert.ok(
      !first.some((id) => repo.hasBlob('data', id)),
      'a backup now would store these again instead of pointing at deleted data',
    );
    await lock.release();
  });
});
