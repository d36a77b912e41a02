/** Pack files (restic-format.md §7): encrypted blobs, then an encrypted header, then its length. */
import { HoardError } from '../errors.js';
import { type Key, OVERHEAD, open, seal } from '../crypto/crypto.js';

export type BlobType = 'data' | 'tree';

/** One blob as listed in a pack header or an index. `uncompressedLength` set ⇔ compressed. */
export interface PackedBlob {
  id: string;
  type: BlobType;
  offset: number;
  length: number;
  uncompressedLength?: number;
}

/** Largest header restic accepts. */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024;
const ENTRY_PLAIN = 37;
const ENTRY_COMPRESSED = 41;

/** Size in bytes of a header entry for the blob. */
export function entrySize(b: Pick<PackedBlob, 'uncompressedLength'>): number {
  return b.uncompressedLength === undefined ? ENTRY_PLAIN : ENTRY_COMPRESSED;
}

/** Total pack size implied by its blobs (what restic check recomputes from the index). */
export function packSizeFromBlobs(blobs: readonly PackedBlob[]): number {
  let s = OVERHEAD + 4;
  for (const b of blobs) s += b.length + entrySize(b);
  return s;
}

/** Encodes and seals a header for blobs in file order; returns sealed header + 4-byte length. */
export function encodePackTrailer(key: Key, blobs: readonly PackedBlob[]): Buffer {
  let size = 0;
  for (const b of blobs) size += entrySize(b);
  const h = Buffer.allocUnsafe(size);
  let at = 0;
  for (const b of blobs) {
    const compressed = b.uncompressedLength !== undefined;
    h[at] = (b.type === 'tree' ? 1 : 0) + (compressed ? 2 : 0);
    h.writeUInt32LE(b.length, at + 1);
    at += 5;
    if (compressed) {
      h.writeUInt32LE(b.uncompressedLength!, at);
      at += 4;
    }
    at += h.write(b.id, at, 'hex');
  }
  const sealed = seal(key, h);
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(sealed.length, 0);
  return Buffer.concat([sealed, len]);
}

/** Where the header sits, from the pack size and its last 4 bytes; kind "corrupt" when implausible. */
export function headerLocation(packSize: number, lastFour: Buffer): { offset: number; length: number } {
  if (packSize < ENTRY_PLAIN + OVERHEAD + 4) throw new HoardError('corrupt', `pack too small (${packSize} bytes)`);
  const hlen = lastFour.readUInt32LE(0);
  if (hlen < OVERHEAD || hlen > packSize - 4 || hlen > MAX_HEADER_SIZE) {
    throw new HoardError('corrupt', `pack header length ${hlen} is invalid for a pack of ${packSize} bytes`);
  }
  return { offset: packSize - 4 - hlen, length: hlen };
}

/** Opens and parses a sealed header; offsets follow by summation. Kind "corrupt" on damage. */
export function decodePackHeader(key: Key, sealed: Buffer, version: number): PackedBlob[] {
  const h = open(key, sealed);
  const out: PackedBlob[] = [];
  let at = 0;
  let offset = 0;
  while (at < h.length) {
    const t = h[at];
    if (t > 3 || (t > 1 && version < 2)) throw new HoardError('corrupt', `pack header has invalid blob type ${t}`);
    const compressed = t >= 2;
    const need = compressed ? ENTRY_COMPRESSED : ENTRY_PLAIN;
    if (at + need > h.length) throw new HoardError('corrupt', 'pack header ends inside an entry');
    const length = h.readUInt32LE(at + 1);
    const ul = compressed ? h.readUInt32LE(at + 5) : undefined;
    const id = h.subarray(at + need - 32, at + need).toString('hex');
    out.push({
      id,
      type: t % 2 === 1 ? 'tree' : 'data',
      offset,
      length,
      ...(ul !== undefined ? { uncompressedLength: ul } : {}),
    });
    offset += length;
    at += need;
  }
  return out;
}
