import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBackend, memoryFiles } from '../storage/memory.js';
import type { Backend } from '../storage/backend.js';
import { initRepository, openRepository } from './open.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A backend that counts data-file reads. */
function counting(b: Backend): { backend: Backend; reads: () => number } {
  let n = 0;
  const backend: Backend = Object.create(b);
  backend.load = (h, o) => {
    if (h.type === 'data') n++;
    return b.load(h, o);
  };
  return { backend, reads: () => n };
}

async function repoWithBlobs(count: number) {
  const mem = createMemoryBackend();
  const repo = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 }, compression: 'off' });
  const blobs = Array.from({ length: count }, (_, i) => randomBytes(1000 + i));
  for (const b of blobs) await repo.saveBlob('data', sha(b), b);
  await repo.flush();
  return { mem, blobs };
}

describe('read-ahead windows', () => {
  it('serves neighbouring blobs from one pack read, each verified and equal to what was stored', async () => {
    const { mem, blobs } = await repoWithBlobs(200);
    const c = counting(mem);
    const repo = await openRepository(c.backend, 'pw');
    await repo.loadIndex();
    repo.enableReadAhead();
    for (const b of blobs) assert.ok((await repo.loadBlob('data', sha(b))).equals(b));
    assert.ok(c.reads() <= 2, `200 blobs in one pack took ${c.reads()} reads`);
  });

  it('falls back to reading a blob alone when its window cannot be read, so good blobs still load', async () => {
    const { mem, blobs } = await repoWithBlobs(20);
    const repo = await openRepository(mem, 'pw');
    await repo.loadIndex();
    repo.enableReadAhead();
    // truncate the pack inside the 16th blob: a window from the first blob reaches past the end
    const cut = repo.index.lookup('data', sha(blobs[15]))!;
    const files = memoryFiles(mem);
    const key = [...files.keys()].find((k) => k.includes(cut.pack))!;
    files.set(key, files.get(key)!.subarray(0, cut.offset + 10));
    for (const [i, b] of blobs.entries()) {
      if (i >= 15) await assert.rejects(repo.loadBlob('data', sha(b)), (e: { kind?: string }) => e.kind === 'corrupt');
      else assert.ok((await repo.loadBlob('data', sha(b))).equals(b), `blob ${i}`);
    }
  });

  it('a damaged blob fails as corrupt while its window neighbours load', async () => {
    const { mem, blobs } = await repoWithBlobs(20);
    const repo = await openRepository(mem, 'pw');
    await repo.loadIndex();
    repo.enableReadAhead();
    const loc = repo.index.lookup('data', sha(blobs[10]))!;
    const files = memoryFiles(mem);
    const key = [...files.keys()].find((k) => k.includes(loc.pack))!;
    files.get(key)![loc.offset + 20] ^= 1;
    for (const [i, b] of blobs.entries()) {
      if (i === 10) await assert.rejects(repo.loadBlob('data', sha(b)), (e: { kind?: string }) => e.kind === 'corrupt');
      else assert.ok((await repo.loadBlob('data', sha(b))).equals(b));
    }
  });
});
