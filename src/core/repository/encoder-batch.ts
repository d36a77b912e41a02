/**
 * What crosses between the encoder pool and its workers: many byte strings concatenated into one
 * buffer that is transferred, not cloned. (Cloning a Buffer view copies its whole ArrayBuffer — a
 * pool slab or a read buffer — and cloning many small views costs more than encoding them.)
 */
import type { CompressionMode } from '../format/compression.js';

/** Jobs to encode (pool → worker). */
export interface JobBatch { ids: number[]; lengths: number[]; modes: CompressionMode[]; bytes: Uint8Array }
/** Results (worker → pool): `uncompressed[i]` is -1 when stored uncompressed; `errors[i]` set on failure. */
export interface ReplyBatch { ids: number[]; lengths: number[]; uncompressed: number[]; errors: (string | null)[]; bytes: Uint8Array }

/** Concatenates `parts` into one fresh buffer; returns it with the lengths. */
export function concatParts(parts: Uint8Array[]): { bytes: Uint8Array<ArrayBuffer>; lengths: number[] } {
  const lengths = parts.map((p) => p.byteLength);
  const bytes = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.byteLength; }
  return { bytes, lengths };
}

/** Views of each part of a received batch, in order (no copy). */
export function splitParts(bytes: Uint8Array, lengths: number[]): Uint8Array[] {
  let at = 0;
  return lengths.map((n) => bytes.subarray(at, (at += n)));
}
