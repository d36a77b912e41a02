/**
 * Turning blob plaintext into the bytes stored in a pack and back (restic-format.md §7).
 * Pure CPU work: safe to run in worker threads (see encoder-pool.ts).
 */
import { createHash } from 'node:crypto';
import { HoardError } from '../errors.js';
import { type Key, open, seal } from '../crypto/crypto.js';
import { type CompressionMode, zstdCompress, zstdDecompress } from '../format/compression.js';

/** A blob ready to append to a pack. `uncompressedLength` set ⇔ stored compressed. */
export interface EncodedBlob {
  sealed: Buffer;
  uncompressedLength?: number;
}

/**
 * Compresses (unless mode is "off" or the data does not shrink) and seals one blob.
 * Empty blobs are never compressed (restic encodes "compressed" as uncompressed_length != 0).
 */
export function encodeBlob(key: Key, data: Uint8Array, mode: CompressionMode): EncodedBlob {
  if (mode !== 'off' && data.length > 0) {
    const z = zstdCompress(data, mode);
    if (z.length < data.length) return { sealed: seal(key, z), uncompressedLength: data.length };
  }
  return { sealed: seal(key, data) };
}

/**
 * Opens, decompresses and verifies one stored blob. Fails with kind "corrupt" when the MAC,
 * the decompressed size or the SHA-256 does not match `id`.
 */
export function decodeBlob(key: Key, stored: Uint8Array, id: string, uncompressedLength?: number): Buffer {
  let pt = open(key, stored);
  if (uncompressedLength !== undefined) {
    pt = zstdDecompress(pt, uncompressedLength);
    if (pt.length !== uncompressedLength) {
      throw new HoardError(
        'corrupt',
        `blob ${id.slice(0, 8)} decompressed to ${pt.length} bytes, index says ${uncompressedLength}`,
      );
    }
  }
  const got = createHash('sha256').update(pt).digest('hex');
  if (got !== id)
    throw new HoardError('corrupt', `blob ${id.slice(0, 8)} has the wrong content (hash ${got.slice(0, 8)})`);
  return pt;
}

/**
 * The largest data blob accepted: restic's chunker cuts at 8 MiB at most (as hoard's does), so a
 * larger one is not a chunk but hostile or damaged input, refused before it is read or decoded.
 */
export const MAX_DATA_BLOB = 8 * 1024 * 1024;
/** The largest tree blob accepted (as for unpacked files): about 3 million entries in one folder. */
export const MAX_TREE_BLOB = 1024 * 1024 * 1024;
/** Sealing adds 32 bytes (IV and MAC); zstd may add a little to data that does not shrink (hoard stores it raw then). */
const SEAL_SLACK = 1024;

/** Kind "corrupt" when the index or a pack header gives a blob more bytes than a blob of its type can have. */
export function checkBlobSize(
  type: 'data' | 'tree',
  b: { id: string; length: number; uncompressedLength?: number },
): void {
  const max = type === 'data' ? MAX_DATA_BLOB : MAX_TREE_BLOB;
  const plain = b.uncompressedLength ?? b.length - 32;
  if (plain > max || b.length > max + SEAL_SLACK) {
    throw new HoardError(
      'corrupt',
      `${type} blob ${b.id.slice(0, 8)} is listed with ${Math.max(plain, b.length)} bytes; a ${type} blob has at most ${max}`,
      { hint: 'the index or pack is damaged or was tampered with; run `hoard check`' },
    );
  }
}

/** The error for a stored blob that fails to decode: kind "corrupt", naming the pack. */
export function blobDamage(pack: string, blob: string, e: unknown): HoardError {
  return new HoardError('corrupt', `pack ${pack.slice(0, 8)}: ${(e as Error).message}`, {
    context: { pack, blob },
    cause: e,
  });
}

/** Anything that can encode blobs, inline or on worker threads. */
export interface BlobEncoder {
  /** Encodes the blob whose plaintext is `parts` joined (`size` bytes in all): a chunk of a stream may span several reads. */
  encode(parts: Uint8Array[], size: number, mode: CompressionMode): Promise<EncodedBlob>;
  close(): Promise<void>;
}

/** Encodes on the calling thread. */
export function createInlineEncoder(key: Key): BlobEncoder {
  return {
    encode: async (parts, size, mode) =>
      encodeBlob(key, parts.length === 1 ? parts[0] : Buffer.concat(parts, size), mode),
    close: async () => {},
  };
}
