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

export class PackWriter {
  private parts: Buffer[] = [];
  private blobs: PackedBlob[] = [];
  private size = 0;
  private headerSize = 32;

  /** With `pool`, finished packs are assembled in its buffers (the uploader gives each back once stored). */
  constructor(readonly type: BlobType, private readonly key: Key, private readonly target = DEFAULT_PACK_SIZE, private readonly pool?: BufferPool) {}

  /** Appends a blob. Returns true when the pack has reached its target and should be finished. */
  add(id: string, enc: EncodedBlob): boolean {
    const b: PackedBlob = { id, type: this.type, offset: this.size, length: enc.sealed.length };
    if (enc.uncompressedLength !== undefined) b.uncompressedLength = enc.uncompressedLength;
    this.parts.push(enc.sealed);
    this.blobs.push(b);
    this.size += enc.sealed.length;
    this.headerSize += entrySize(b);
    return this.size >= this.target || this.headerSize + 41 > MAX_HEADER_SIZE;
  }

  get count(): number {
    return this.blobs.length;
  }

  get bytes(): number {
    return this.size;
  }

  /** Seals the header and returns the complete pack, named by its SHA-256; resets the writer. */
  finish(): FinishedPack {
    const parts = [...this.parts, encodePackTrailer(this.key, this.blobs)];
    let bytes: Buffer;
    if (this.pool) {
      const total = parts.reduce((n, p) => n + p.length, 0);
      const v = this.pool.take(total);
      bytes = Buffer.from(v.buffer, 0, total);
      let at = 0;
      for (const p of parts) { bytes.set(p, at); at += p.length; }
    } else bytes = Buffer.concat(parts);
    const out = { id: hashId(bytes), bytes, blobs: this.blobs };
    this.parts = [];
    this.blobs = [];
    this.size = 0;
    this.headerSize = 32;
    return out;
  }
}
