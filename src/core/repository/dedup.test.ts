import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBackend } from '../storage/memory.js';
import { initRepository, openRepository } from './open.js';
import { isHoardError } from '../errors.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('deduplication inside one run', () => {
  it('stores a blob once when it comes again while its pack is still being filled or uploaded', async () => {
    const mem = createMemoryBackend();
    const repo = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 }, packSize: 64 * 1024 });
    const same = randomBytes(3000);
    const added: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      added.push(await repo.saveBlob('data', sha(same), same)); // one after another, each awaited
      const other = randomBytes(4000);
      await repo.saveBlob('data', sha(other), other); // fills and uploads packs meanwhile
    }
    await repo.flush();
    assert.deepEqual(added.filter(Boolean).length, 1, 'only the first call adds it');
    const again = await openRepository(mem, 'pw');
    await again.loadIndex();
    const copies = [...again.index.packs.values()].flat().filter((b) => b.id === sha(same));
    assert.equal(copies.length, 1, `stored ${copies.length} times`);
  });

  it('a dry run counts a blob once and does not keep a later real run from storing it', async () => {
    const mem = createMemoryBackend();
    const repo = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    const b = randomBytes(2000);
    await repo.writing({ dryRun: true }, async () => {
      assert.equal(await repo.saveBlob('data', sha(b), b), true);
      assert.equal(await repo.saveBlob('data', sha(b), b), false, 'counted once');
      await repo.flush();
    });
    assert.equal(repo.stats.blobsAdded, 1);
    assert.equal(repo.stats.packsWritten, 0, 'the dry run wrote nothing');
    assert.equal(repo.dryRun, false, 'the mode ended with its operation');
    assert.equal(await repo.saveBlob('data', sha(b), b), true, 'the real run stores it');
    await repo.flush();
    assert.ok(repo.hasBlob('data', sha(b)));
  });

  it('a dry run and a real write cannot overlap on one handle; a failed dry run leaves it dry', async () => {
    const mem = createMemoryBackend();
    const repo = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    const b = randomBytes(2000);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const dry = repo.writing({ dryRun: true }, async () => {
      await repo.saveBlob('data', sha(b), b);
      await held;
    });
    await assert.rejects(
      repo.writing({}, async () => {}),
      (e: unknown) => isHoardError(e, 'internal'),
    );
    release();
    await dry;
    // a second source's dry run on the same handle: the blob is counted already, as a real run stores it once
    await repo.writing({ dryRun: true }, async () => {
      assert.equal(await repo.saveBlob('data', sha(b), b), false);
    });
    // a dry run that fails: what it started may still save blobs afterwards, and they are only counted
    await assert.rejects(
      repo.writing({ dryRun: true }, async () => {
        throw new Error('a file went away');
      }),
      /went away/,
    );
    const late = randomBytes(3000);
    assert.equal(await repo.saveBlob('data', sha(late), late), true);
    await repo.flush();
    assert.equal(repo.stats.packsWritten, 0, 'nothing was stored after the failed dry run');
    assert.equal(repo.hasBlob('data', sha(late)), false);
  });
});
