/**
 * Bounded zstd decompression: frames that declare no content size (hand-made here from RLE blocks,
 * as an attacker would write them) are decoded only up to the bound, in memory near the bound.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { zstdCompress, zstdDecompress } from './compression.js';

const BLOCK = 128 * 1024;

/** A zstd frame without a content size whose RLE blocks of `byte` expand to `total` bytes (a few bytes per 128 KiB). */
export function rleFrame(total: number, byte = 0x61): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic, no size, 128 KiB window
  for (let left = total; left > 0; left -= BLOCK) {
    const size = Math.min(BLOCK, left);
    const header = (left === size ? 1 : 0) | (1 << 1) | (size << 3); // last?, RLE, regenerated size
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]));
  }
  return Buffer.concat(parts);
}

describe('zstd decompression is bounded', () => {
  it('decodes a frame without a content size when it stays within the bound', () => {
    const out = zstdDecompress(rleFrame(300_000), 300_000);
    assert.equal(out.length, 300_000);
    assert.ok(out.every((b) => b === 0x61));
  });

  it('stops a frame that expands to 1 GiB at the bound, without using the memory', () => {
    const bomb = rleFrame(1024 ** 3);
    assert.ok(bomb.length < 40_000);
    const before = process.resourceUsage().maxRSS;
    assert.throws(() => zstdDecompress(bomb, 1024 * 1024), /expands beyond 1048576 bytes/);
    const grew = (process.resourceUsage().maxRSS - before) / 1024;
    assert.ok(grew < 64, `peak RSS grew by ${grew.toFixed(0)} MiB`);
  });

  it('bounds a declared frame followed by one that declares nothing', () => {
    const two = Buffer.concat([zstdCompress(Buffer.alloc(10, 1)), rleFrame(64 * 1024 * 1024)]);
    assert.throws(() => zstdDecompress(two, 1024), /expands beyond 1024 bytes/);
  });

  it('refuses a frame that declares more than the bound, and truncated frames', () => {
    assert.throws(() => zstdDecompress(zstdCompress(Buffer.alloc(5000, 7)), 4999), /declares 5000 bytes/);
    assert.throws(
      () => zstdDecompress(rleFrame(300_000).subarray(0, 12), 1 << 20),
      (e: Error & { kind?: string }) => e.kind === 'corrupt',
    );
    const ok = zstdCompress(Buffer.from('hello hello hello hello'));
    assert.equal(zstdDecompress(ok, 100).toString(), 'hello hello hello hello');
  });
});
