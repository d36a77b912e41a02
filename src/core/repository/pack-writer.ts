/** Accumulates encoded blobs of one type into a pack (restic-format.md §7). Not shared between types. */
import { hashId } from '../crypto/id.js';
import type { Key } from '../crypto/crypto.js';
import { type BlobType, type PackedBlob, MAX_HEADER_SIZE, encodePackTrailer, entrySize } from '../format/pack.js';
import type { EncodedBlob } from './blob-codec.js';
import type { BufferPool } from './encoder-batch.js';

/** restic's default target pack size. */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export interface FinishedPack {
  id: string;
  bytes: Buffer;
  blobs: PackedBlob[];
}

/**
 * Blobs are copied into the pack's buffer as they come, not kept as the views they arrive as: a
 * sealed blob is often a small view of a larger buffer (an encoder thread's reply batch, a window
 * of a pack prune reads), and keeping the view kept the whole buffer. A tree pack fills slowly
 * over a whole backup, so its kept views held 124 MB on the 6.1 kernel tree (5,000 folders).
 */
export class PackWriter {
  /** The pack so far, in bytes [0, size); a pooled buffer when there is a pool. */
  private buf: Uint8Array<ArrayBuffer> | undefined;
  private blobs: PackedBlob[] = [];
  private size = 0;
  private headerSize = 32;

  /** With `pool`, packs are assembled in its buffers (the uploader gives each back once stored). */
  constructor(
    readonly type: BlobType,
    private readonly key: Key,
    private readonly target = DEFAULT_PACK_SIZE,
    private readonly pool?: BufferPool,
  ) {}

  /** Appends a blob (copying its bytes). Returns true when the pack has reached its target and should be finished. */
  add(id: string, enc: EncodedBlob): boolean {
    const b: PackedBlob = { id, type: this.type, offset: this.size, length: enc.sealed.length };
    if (enc.uncompressedLength !== undefined) b.uncompressedLength = enc.uncompressedLength;
    this.append(enc.sealed);
    this.blobs.push(b);
    this.headerSize += entrySize(b);
    return this.size >= this.target || this.headerSize + 41 > MAX_HEADER_SIZE;
  }

  get count(): number {
    return this.blobs.length;
  }

  get bytes(): number {
    return this.size;
  }

  /** Copies `part` after what the pack holds, growing the buffer when it does not fit. */
  private append(part: Uint8Array): void {
    const need = this.size + part.length;
    if (!this.buf || this.buf.length < need) {
      // data packs fill in seconds: their whole buffer at once; tree packs grow slowly from small
      const first = this.pool && this.type === 'data' ? this.target + (1 << 20) : 64 * 1024;
      const cap = Math.max(need, this.buf ? this.buf.length * 2 : first);
      const grown = this.pool && cap > this.target ? new Uint8Array(this.pool.take(cap).buffer) : new Uint8Array(cap);
      if (this.buf) {
        grown.set(this.buf.subarray(0, this.size));
        if (this.buf.length > this.target) this.pool?.give(this.buf.buffer);
      }
      this.buf = grown;
    }
    this.buf.set(part, this.size);
    this.size = need;
  }

  /** Seals the header and returns the complete pack, named by its SHA-256; resets the writer. */
  finish(): FinishedPack {
    this.append(encodePackTrailer(this.key, this.blobs));
    const bytes = Buffer.from(this.buf!.buffer, 0, this.size);
    const out = { id: hashId(bytes), bytes, blobs: this.blobs };
    this.buf = undefined;
    this.blobs = [];
    this.size = 0;
    this.headerSize = 32;
    return out;
  }
}
