/** Accumulates encoded blobs of one type into a pack (restic-format.md §7). Not shared between types. */
import { hashId } from '../crypto/id.js';
import type { Key } from '../crypto/crypto.js';
import { type BlobType, type PackedBlob, MAX_HEADER_SIZE, encodePackTrailer, entrySize } from '../format/pack.js';
import type { EncodedBlob } from './blob-codec.js';

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

  constructor(readonly type: BlobType, private readonly key: Key, private readonly target = DEFAULT_PACK_SIZE) {}

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
    const bytes = Buffer.concat([...this.parts, encodePackTrailer(this.key, this.blobs)]);
    const out = { id: hashId(bytes), bytes, blobs: this.blobs };
    this.parts = [];
    this.blobs = [];
    this.size = 0;
    this.headerSize = 32;
    return out;
  }
}
