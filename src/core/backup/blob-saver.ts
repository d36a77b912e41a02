/**
 * Bounded-concurrency blob saving: hashes (small blobs on the calling thread, large chunks on the
 * thread pool), stores through the repository (which dedups and encodes), and never holds more
 * than `limit` blobs in flight.
 */
import { hashId, hashIdAsync, hashIdOfParts } from '../crypto/id.js';
import type { BlobType } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';
import { Chunker } from '../chunker/chunker.js';
import { throwIfAborted } from '../errors.js';
import { Budget } from '../budget.js';

/** Chunks at least this large are hashed on the thread pool (below it the round trip costs more than it saves). */
const ASYNC_HASH_MIN = 256 * 1024;

export class BlobSaver {
  private readonly budget: Budget;
  private error: unknown;

  /**
   * At most `maxBlobs` saves and `maxBytes` of plaintext in flight (small files need many, big
   * chunks few). 128 is two of the encoder pool's 64-blob batches: with only one batch's worth in
   * flight, the walk waited for each batch to come back before it could fill the next (20,000 small
   * files: 1.8 s → 1.6 s). Four batches were no faster and cost 10-20 MB more peak RSS.
   */
  constructor(private readonly repo: Repository, maxBlobs = 128, maxBytes = 8 * 1024 * 1024) {
    this.budget = new Budget(maxBlobs, maxBytes);
  }

  /** Schedules a blob; returns its id at once. Waits while the limits are reached. */
  async save(type: BlobType, data: Buffer): Promise<string> {
    if (this.error) throw this.error;
    await this.budget.take(data.length);
    if (this.error) { this.budget.give(data.length); throw this.error; }
    const id = hashId(data);
    this.repo.saveBlob(type, id, data).then(() => {}, (e) => { this.error ??= e; }).finally(() => this.budget.give(data.length));
    return id;
  }

  /**
   * Like save, for a chunk of a stream given as the parts it spans: resolves once the budget admits
   * it, to a promise of its id (wrapped, so that awaiting the admission does not wait for the hash),
   * so that the caller chunks on while large chunks are hashed off this thread. The parts are copied
   * only when the blob is new, once, into the buffer that goes to the encoder thread. `done` is
   * called once nothing reads the parts any more (hashed, and stored or found stored, or failed).
   */
  async saveDeferred(type: BlobType, parts: Buffer[], done?: () => void): Promise<{ id: Promise<string> }> {
    if (this.error) throw this.error;
    const size = parts.reduce((n, p) => n + p.length, 0);
    await this.budget.take(size);
    if (this.error) { this.budget.give(size); done?.(); throw this.error; }
    const id = size >= ASYNC_HASH_MIN ? hashIdAsync(parts) : Promise.resolve(hashIdOfParts(parts));
    id.then((x) => this.repo.hasBlob(type, x) ? false : this.repo.saveBlob(type, x, parts))
      .then(() => {}, (e) => { this.error ??= e; }).finally(() => { this.budget.give(size); done?.(); });
    return { id };
  }

  /** Waits for every scheduled save; throws the first failure. */
  async drain(): Promise<void> {
    await this.budget.idle();
    if (this.error) throw this.error;
  }
}

/** Joins small pieces (pipes deliver 64 KiB) into ~1 MiB buffers: fewer awaits per byte. */
async function* coalesce(source: AsyncIterable<Buffer | Uint8Array>, min = 1 << 20): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const c of source) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    if (size === 0 && b.length >= min) { yield b; continue; }
    parts.push(b);
    size += b.length;
    if (size >= min) { yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size); parts = []; size = 0; }
  }
  if (size > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
}

/** The content of one file or stream as stored: blob ids in order and the byte count. */
export interface SavedContent {
  content: string[];
  size: number;
}

/**
 * A source whose blocks may be handed back for reuse once nothing reads them (see read-ahead.ts):
 * a fresh 1 MiB buffer per read costs 256 page faults, a third of a deduplicated stream's CPU here.
 */
export interface RecyclingSource extends AsyncIterable<Buffer> {
  release(block: Buffer): void;
}

const recycles = (s: AsyncIterable<Buffer | Uint8Array>): s is RecyclingSource => typeof (s as Partial<RecyclingSource>).release === 'function';

/**
 * Counts who still reads each block of a recycling source: the chunker while a block's tail waits
 * in `parts`, and every chunk cut from it until its save is done. At zero the block goes back.
 */
class BlockRefs {
  private readonly refs = new Map<Buffer, number>();
  constructor(private readonly source?: RecyclingSource) {}
  hold(b: Buffer): void { if (this.source) this.refs.set(b, (this.refs.get(b) ?? 0) + 1); }
  drop(b: Buffer): void {
    if (!this.source) return;
    const n = (this.refs.get(b) ?? 0) - 1;
    if (n > 0) { this.refs.set(b, n); return; }
    this.refs.delete(b);
    this.source.release(b);
  }
}

/**
 * Chunks a byte stream with the repository's polynomial and schedules every chunk as a data blob.
 * The caller must drain() the saver before relying on the blobs being stored.
 */
export async function saveContent(source: AsyncIterable<Buffer | Uint8Array>, pol: bigint, saver: BlobSaver, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<SavedContent> {
  const chunker = new Chunker(pol);
  const content: Promise<string>[] = [];
  // a recycling source's blocks arrive whole (coalesce passes blocks of 1 MiB or more through)
  const refs = new BlockRefs(recycles(source) ? source : undefined);
  let parts: Buffer[] = [];
  let blocks: Buffer[] = []; // the blocks `parts` are views of, each held once for the chunker
  let size = 0;
  const cut = async (chunk: Buffer[], spans: Buffer[]) => {
    for (const b of spans) refs.hold(b);
    content.push((await saver.saveDeferred('data', chunk, () => { for (const b of spans) refs.drop(b); })).id);
  };
  for await (const buf of coalesce(source)) {
    throwIfAborted(signal);
    size += buf.length;
    refs.hold(buf);
    let start = 0;
    for (const end of chunker.feed(buf)) {
      // a chunk is passed as views of the buffers it spans: copied only if it is new
      await cut([...parts, buf.subarray(start, end)], [...blocks, buf]);
      for (const b of blocks) refs.drop(b);
      parts = [];
      blocks = [];
      start = end;
    }
    if (start < buf.length) { parts.push(buf.subarray(start)); blocks.push(buf); } else refs.drop(buf);
    onBytes?.(buf.length);
  }
  if (parts.length > 0) await cut(parts, blocks);
  for (const b of blocks) refs.drop(b);
  return { content: await Promise.all(content), size };
}
