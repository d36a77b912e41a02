/**
 * Plaintext encoding of unpacked files (index, snapshot, lock) — restic-format.md §6.
 * v2 writes 0x02 || zstd(json); readers accept raw JSON ('{' or '[') in v1 and v2.
 */
import { HoardError } from '../errors.js';
import { zstdCompress, zstdDecompress } from './compression.js';

/** Largest decoded unpacked file accepted (guards memory against damaged or hostile input). */
export const MAX_UNPACKED = 1024 * 1024 * 1024;

/** Encodes JSON text for an unpacked file of a repository of the given version. */
export function encodeUnpacked(json: string | Uint8Array, version: number): Buffer {
  const raw = typeof json === 'string' ? Buffer.from(json, 'utf8') : Buffer.from(json);
  if (version < 2) return raw;
  const z = zstdCompress(raw, 'auto');
  const out = Buffer.allocUnsafe(z.length + 1);
  out[0] = 2;
  z.copy(out, 1);
  return out;
}

/** Decodes an unpacked file's plaintext to JSON bytes; kind "corrupt" on an unknown encoding. */
export function decodeUnpacked(pt: Buffer, version: number): Buffer {
  if (pt.length === 0 || version < 2) return pt;
  if (pt[0] === 0x7b || pt[0] === 0x5b) return pt;
  if (pt[0] === 2) return zstdDecompress(pt.subarray(1), MAX_UNPACKED);
  throw new HoardError('corrupt', `unsupported encoding format 0x${pt[0].toString(16)} in repository file`);
}
