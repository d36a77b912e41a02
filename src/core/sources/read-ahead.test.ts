import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { openSync, closeSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryBackend } from '../storage/memory.js';
import { initRepository } from '../repository/open.js';
import { BlobSaver, saveContent } from '../backup/blob-saver.js';
import { readAhead } from './read-ahead.js';
import { blockCounts } from './blocks.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };

function tempFile(data: Buffer): { file: string; done: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hoard-readahead-'));
  const file = path.join(dir, 'f');
  writeFileSync(file, data);
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Text-like bytes (deduplicable, compressible) with random stretches. */
function sample(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let at = 0; at < n; at += 4096)
    (at % 65536 === 0 ? randomBytes(4096) : Buffer.from(`row ${at} ${'x'.repeat(4080)}`)).copy(out, at);
  return out;
}

describe('read-ahead source', () => {
  it('yields the bytes in order whatever the block size, and stops cleanly at the end', async () => {
    const data = randomBytes(10_000 + 7);
    const t = tempFile(data);
    const fd = openSync(t.file, 'r');
    try {
      const got: Buffer[] = [];
      for await (const b of readAhead(fd, 1000, 2)) got.push(Buffer.from(b));
      assert.ok(Buffer.concat(got).equals(data));
      assert.equal(got.length, 11);
    } finally {
      closeSync(fd);
      t.done();
    }
  });

  it('reuses the blocks handed back, and the stored chunks still equal the input, two files and a pipe at once (nothing is overwritten while in use)', async () => {
    const inputs = [sample(24 * 1024 * 1024 + 12345), sample(9 * 1024 * 1024 + 1)];
    const piped = sample(13 * 1024 * 1024 + 777);
    const files = inputs.map(tempFile);
    const fds = files.map((t) => openSync(t.file, 'r'));
    const repo = await initRepository(createMemoryBackend(), 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    // a pipe's pieces: 64 KiB and odd sizes, each its own buffer
    async function* pipe(): AsyncGenerator<Buffer> {
      for (let at = 0, i = 0; at < piped.length; i++) {
        const n = i % 3 === 0 ? 65536 : 1000 + i;
        yield Buffer.from(piped.subarray(at, at + n));
        at += n;
      }
    }
    try {
      const before = blockCounts.reused;
      const saver = new BlobSaver(repo);
      const saved = await Promise.all([
        ...fds.map((fd) => saveContent(readAhead(fd, 1 << 20, 3), repo.config.chunkerPolynomial, saver)),
        saveContent(pipe(), repo.config.chunkerPolynomial, saver),
      ]);
      await saver.drain();
      await repo.flush();
      assert.ok(blockCounts.reused - before > 10, `blocks were reused (${blockCounts.reused - before})`);
      for (const [i, want] of [...inputs, piped].entries()) {
        assert.equal(saved[i].size, want.length);
        const back = Buffer.concat(await Promise.all(saved[i].content.map((id) => repo.loadBlob('data', id))));
        assert.equal(
          createHash('sha256').update(back).digest('hex'),
          createHash('sha256').update(want).digest('hex'),
          `input ${i}`,
        );
      }
    } finally {
      for (const fd of fds) closeSync(fd);
      for (const t of files) t.done();
      await repo.close();
    }
  });
});
