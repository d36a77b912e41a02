import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBackend, memoryFiles } from '../storage/memory.js';
import { isHoardError } from '../errors.js';
import { initRepository, openRepository } from './open.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('decoding on worker threads', () => {
  it('returns what was stored, big and small blobs, compressed and not, many at once', async () => {
    const mem = createMemoryBackend();
    const w = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    const text = (n: number, s: number) =>
      Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * s) % 26))).join(''));
    const blobs = [
      randomBytes(3 * 1024 * 1024),
      text(2 * 1024 * 1024, 7),
      randomBytes(100),
      text(3000, 3),
      Buffer.alloc(0),
      randomBytes(700 * 1024),
    ];
    for (const b of blobs) await w.saveBlob('data', sha(b), b);
    await w.flush();
    const r = await openRepository(mem, 'pw');
    await r.loadIndex();
    r.enableParallelDecode(2);
    try {
      const got = await Promise.all([...blobs, ...blobs].map((b) => r.loadBlob('data', sha(b))));
      got.forEach((g, i) => assert.ok(g.equals(blobs[i % blobs.length]), `blob ${i}`));
    } finally {
      await r.close();
    }
  });

  it('fails a damaged blob as damage naming its pack, and still returns the others', async () => {
    const mem = createMemoryBackend();
    const w = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 }, compression: 'off' });
    const [a, b] = [randomBytes(5000), randomBytes(6000)];
    await w.saveBlob('data', sha(a), a);
    await w.saveBlob('data', sha(b), b);
    await w.flush();
    const r = await openRepository(mem, 'pw');
    await r.loadIndex();
    const loc = r.index.lookup('data', sha(a))!;
    const pack = [...memoryFiles(mem)].find(([k]) => k.includes(loc.pack))![1];
    pack[loc.offset + 40] ^= 1;
    r.enableParallelDecode(1);
    try {
      const [bad, good] = await Promise.allSettled([r.loadBlob('data', sha(a)), r.loadBlob('data', sha(b))]);
      assert.equal(bad.status, 'rejected');
      assert.ok(isHoardError((bad as PromiseRejectedResult).reason, 'corrupt'));
      assert.match(String((bad as PromiseRejectedResult).reason.message), new RegExp(`pack ${loc.pack.slice(0, 8)}`));
      assert.ok(good.status === 'fulfilled' && good.value.equals(b));
    } finally {
      await r.close();
    }
  });
});
