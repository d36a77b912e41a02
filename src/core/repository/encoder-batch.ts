/**
 * What crosses between the encoder pool and its workers: many byte strings concatenated into one
 * buffer that is transferred, not cloned. (Cloning a Buffer view copies its whole ArrayBuffer — a
 * pool slab or a read buffer — and cloning many small views costs more than encoding them.)
 */
import type { CompressionMode } from '../format/compression.js';

/** Jobs to encode (pool → worker). */
export interface JobBatch {
  ids: number[];
  lengths: number[];
  modes: CompressionMode[];
  bytes: Uint8Array;
}
/** Results (worker → pool): `uncompressed[i]` is -1 when stored uncompressed; `errors[i]` set on failure; `input` is the job's buffer, sent back for reuse. */
export interface ReplyBatch {
  ids: number[];
  lengths: number[];
  uncompressed: number[];
  errors: (string | null)[];
  bytes: Uint8Array;
  input: ArrayBuffer;
}

/** Concatenates `parts` into one buffer (fresh, or from `pool`); returns it with the lengths. */
export function concatParts(
  parts: Uint8Array[],
  pool?: BufferPool,
): { bytes: Uint8Array<ArrayBuffer>; lengths: number[] } {
  const lengths = parts.map((p) => p.byteLength);
  const total = lengths.reduce((a, b) => a + b, 0);
  const bytes = pool ? pool.take(total) : new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { bytes, lengths };
}

/** Views of each part of a received batch, in order (no copy). */
export function splitParts(bytes: Uint8Array, lengths: number[]): Uint8Array[] {
  let at = 0;
  return lengths.map((n) => bytes.subarray(at, (at += n)));
}

/**
 * ArrayBuffers sent to a worker and sent back for reuse. A fresh buffer of megabytes costs page
 * faults on every use, which on a virtual machine cost more than the copy into it.
 */
export class BufferPool {
  private free: ArrayBuffer[] = [];

  constructor(
    private readonly keep = 8,
    private readonly minSize = 1 << 20,
  ) {}

  /** A view of `n` bytes (contents undefined) on a pooled buffer, or on a new one of at least minSize. */
  take(n: number): Uint8Array<ArrayBuffer> {
    const i = this.free.findIndex((b) => b.byteLength >= n);
    const ab = i >= 0 ? this.free.splice(i, 1)[0] : new ArrayBuffer(Math.max(n, this.minSize));
    return new Uint8Array(ab, 0, n);
  }

  /** Returns a buffer for reuse (the smallest are dropped beyond `keep`). */
  give(ab: ArrayBuffer): void {
    if (ab.byteLength === 0) return;
    this.free.push(ab);
    if (this.free.length > this.keep) {
      this.free.sort((a, b) => b.byteLength - a.byteLength);
      this.free.length = this.keep;
    }
  }
}
