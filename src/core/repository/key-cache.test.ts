import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBackend } from '../storage/memory.js';
import { randomKey } from '../crypto/crypto.js';
import { addKey, initRepository, openRepository, removeKey } from './open.js';
import { KeyCache } from './key-cache.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const kdf = { N: 1024, r: 1, p: 1 };

describe('KeyCache', () => {
  it('serves a key file it opened before, and only for the same key file and password', async () => {
    const mem = createMemoryBackend();
    const made = await initRepository(mem, 'pw', who, { kdf });
    const cache = new KeyCache();
    const first = await openRepository(mem, 'pw', { keyCache: cache });
    assert.equal(cache.size, 1);
    const second = await openRepository(mem, 'pw', { keyCache: cache });
    assert.deepEqual(second.key, first.key);
    assert.deepEqual(second.key, made.key);
    assert.equal(cache.size, 1, 'a hit adds nothing');
    await assert.rejects(openRepository(mem, 'other', { keyCache: cache }), { kind: 'wrong-password' });
    // a new key file under a new password, the old one removed: the old cache entry is never used for it
    const id = await addKey(first, 'new', who, kdf);
    const viaNew = await openRepository(mem, 'new', { keyCache: cache, keyHint: id });
    await removeKey(viaNew, first.keyId);
    await assert.rejects(openRepository(mem, 'pw', { keyCache: cache }), { kind: 'wrong-password' });
    assert.deepEqual((await openRepository(mem, 'new', { keyCache: cache })).key, made.key);
  });

  it('is consulted: a poisoned entry for the exact key file and password is what opening uses', async () => {
    const mem = createMemoryBackend();
    const repo = await initRepository(mem, 'pw', who, { kdf });
    const cache = new KeyCache();
    cache.set(await mem.load({ type: 'key', name: repo.keyId }), 'pw', randomKey());
    // the config does not open with a wrong master key: opening fails instead of using it
    await assert.rejects(openRepository(mem, 'pw', { keyCache: cache }), { kind: 'corrupt' });
  });

  it('keeps at most its limit, dropping the oldest', () => {
    const cache = new KeyCache(2);
    for (const n of ['a', 'b', 'c']) cache.set(Buffer.from(n), 'pw', randomKey());
    assert.equal(cache.size, 2);
    assert.equal(cache.get(Buffer.from('a'), 'pw'), undefined);
    assert.ok(cache.get(Buffer.from('c'), 'pw'));
  });
});
