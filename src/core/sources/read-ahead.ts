/**
 * Sequential reads of a file descriptor that run ahead of the reader: while the caller chunks one
 * block, the next ones are already being read. Reads are issued one at a time, in order, at the
 * descriptor's own position, so a file opened by a shell works as it is. Blocks handed back with
 * release() are read into again instead of fresh buffers (each fresh 1 MiB costs 256 page faults).
 */
import { read } from 'node:fs';
import type { RecyclingSource } from '../backup/blob-saver.js';

/** Blocks of up to `blockSize` bytes, in order, with up to `ahead` blocks read before they are asked for. */
export function readAhead(fd: number, blockSize = 1 << 20, ahead = 3): RecyclingSource {
  const free: Buffer[] = [];
  const ours = new WeakSet<Buffer>(); // full blocks handed out; nothing else is taken back
  return {
    release(b) {
      if (ours.has(b) && free.length < ahead + 2) free.push(b);
    },
    async *[Symbol.asyncIterator]() {
      const ready: Buffer[] = [];
      let done = false;
      let failure: unknown;
      let reading = false;
      let wake: (() => void) | undefined;
      let settled: (() => void) | undefined;
      const pump = () => {
        if (reading || done || failure || ready.length >= ahead) return;
        reading = true;
        const buf = free.pop() ?? Buffer.allocUnsafe(blockSize);
        read(fd, buf, 0, blockSize, null, (e, n) => {
          reading = false;
          settled?.();
          if (e) failure = e;
          else if (n === 0) done = true;
          else if (n === blockSize) { ours.add(buf); ready.push(buf); } else ready.push(Buffer.from(buf.subarray(0, n)));
          const w = wake;
          wake = undefined;
          w?.();
          pump();
        });
      };
      pump();
      try {
        for (;;) {
          if (ready.length > 0) {
            const b = ready.shift()!;
            pump();
            yield b;
            continue;
          }
          if (failure) throw failure;
          if (done) return;
          await new Promise<void>((r) => { wake = r; });
        }
      } finally {
        // a reader that stops early returns only once no read is running: the caller may close the descriptor
        done = true;
        if (reading) await new Promise<void>((r) => { settled = r; });
      }
    },
  };
}
