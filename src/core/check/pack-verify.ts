/**
 * Verifying one whole pack's bytes (check --read-data): its name is the SHA-256 of its content,
 * its header decrypts and lists what the index says, and every blob verifies and decodes. Pure and
 * synchronous, so it runs on the pack-checker threads (pack-checker.ts) as well as on the caller's.
 */
import { createHash } from 'node:crypto';
import type { Key } from '../crypto/crypto.js';
import { type PackedBlob, decodePackHeader, headerLocation } from '../format/pack.js';
import { checkBlobSize, decodeBlob } from '../repository/blob-codec.js';

/** A description of the pack's first problem, or undefined when it is sound. `indexed` is what the index lists in it. */
export function verifyPack(
  key: Key,
  version: number,
  id: string,
  bytes: Uint8Array,
  indexed: PackedBlob[],
): string | undefined {
  if (createHash('sha256').update(bytes).digest('hex') !== id)
    return 'content does not match its name (the file is damaged)';
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const loc = headerLocation(buf.length, buf.subarray(buf.length - 4));
    const header = decodePackHeader(key, buf.subarray(loc.offset, loc.offset + loc.length), version);
    const name = (b: PackedBlob) => `${b.type}:${b.id}:${b.offset}:${b.length}:${b.uncompressedLength ?? ''}`;
    const inHeader = new Set(header.map(name));
    for (const b of indexed)
      if (!inHeader.has(name(b))) return `blob ${b.id.slice(0, 8)} in the index does not match the pack header`;
    for (const b of header) {
      checkBlobSize(b.type, b);
      decodeBlob(key, buf.subarray(b.offset, b.offset + b.length), b.id, b.uncompressedLength);
    }
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
