/**
 * What the in-memory index costs per blob: adds BENCH_BLOBS (default 1,000,000) blobs in packs of
 * 1,000 to a MasterIndex and reports the growth of the JS heap and array buffers (after a GC) per
 * blob, and the time of a million lookups. Run with node --expose-gc.
 */
import { createHash } from 'node:crypto';
import { MasterIndex } from '../src/core/repository/master-index.js';

const N = Number(process.env.BENCH_BLOBS ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const used = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const id = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const before = used();
const m = new MasterIndex();
for (let p = 0; p < N / 1000; p++) {
  m.addIndexFile({
    packs: [
      {
        id: id(-p - 1),
        blobs: Array.from({ length: 1000 }, (_, i) => ({
          id: id(p * 1000 + i),
          type: 'data' as const,
          offset: i * 4000,
          length: 4000,
          uncompressedLength: 9000,
        })),
      },
    ],
  });
}
const after = used();
const t = process.hrtime.bigint();
let found = 0;
for (let i = 0; i < 1_000_000; i++) if (m.has('data', id(i % N))) found++;
const ms = Number(process.hrtime.bigint() - t) / 1e6;
console.log(
  `${N.toLocaleString('en')} blobs: ${((after - before) / N).toFixed(0)} bytes a blob (heap + array buffers, after GC); 1,000,000 lookups (with hashing the ids) in ${ms.toFixed(0)} ms, ${found} found`,
);
