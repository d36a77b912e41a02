/**
 * Sequential reads of a file descriptor that run ahead of the reader: while the caller chunks one
 * block, the next ones are already being read. Reads are issued one at a time, in order, at the
 * descriptor's own position, so a file opened by a shell works as it is. With the default block
 * size the blocks come from blocks.ts and go back there once nothing reads them (saveContent gives
 * them back), so they are read into again instead of fresh buffers.
 */
import { read } from 'node:fs';
import { BLOCK, giveBlock, takeBlock } from './blocks.js';

/** Blocks of up to `blockSize` bytes, in order, with up to `ahead` blocks read before they are asked for. */
export function readAhead(fd: number, blockSize = BLOCK, ahead = 3): AsyncIterable<Buffer> {
  const take = () => (blockSize === BLOCK ? takeBlock() : Buffer.allocUnsafe(blockSize));
  return {
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
        const buf = take();
        read(fd, buf, 0, blockSize, null, (e, n) => {
          reading = false;
          settled?.();
          if (n === blockSize && !e) ready.push(buf);
          else {
            if (e) failure = e;
            else if (n === 0) done = true;
            else ready.push(Buffer.from(buf.subarray(0, n))); // the last, short block: a copy
            giveBlock(buf);
          }
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
          await new Promise<void>((r) => {
            wake = r;
          });
        }
      } finally {
        // a reader that stops early returns only once no read is running: the caller may close the descriptor
        done = true;
        if (reading)
          await new Promise<void>((r) => {
            settled = r;
          });
        for (const b of ready.splice(0)) giveBlock(b); // read ahead, never handed out
      }
    },
  };
}
