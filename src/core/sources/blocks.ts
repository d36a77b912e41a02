/**
 * Reusable read blocks of BLOCK bytes, shared by every sequential reader of a backup (large files,
 * a database dump's pipe, standard input): a fresh 1 MiB buffer costs 256 page faults the first
 * time it is written, a tenth of a large file's backup CPU here. takeBlock hands a block out;
 * giveBlock takes it back once nothing reads it any more (BlockRefs in blob-saver.ts counts the
 * readers). A block given back twice, or a buffer that is not a block, is ignored, so no block is
 * ever handed to two readers. At most MAX_FREE blocks wait for reuse.
 */
export const BLOCK = 1 << 20;
const MAX_FREE = 16;
const free: Buffer[] = [];
/** Blocks handed out and not yet back. */
const out = new WeakSet<Buffer>();

/** How many blocks were handed out, and how many of them were reused ones (tests and benchmarks). */
export const blockCounts = { taken: 0, reused: 0 };

/** A block of BLOCK bytes, its content undefined. */
export function takeBlock(): Buffer {
  const reused = free.pop();
  const b = reused ?? Buffer.allocUnsafeSlow(BLOCK);
  out.add(b);
  blockCounts.taken++;
  if (reused) blockCounts.reused++;
  return b;
}

/** True for a block handed out by takeBlock and not yet given back. */
export function isBlock(b: Buffer): boolean {
  return out.has(b);
}

/** Takes a block back for reuse; anything else (or a block already back) is ignored. */
export function giveBlock(b: Buffer): void {
  if (!out.delete(b)) return;
  if (free.length < MAX_FREE) free.push(b);
}
