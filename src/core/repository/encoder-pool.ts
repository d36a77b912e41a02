/**
 * Blob encoding (zstd + AES-CTR + Poly1305) on worker threads, so that chunking and hashing on the
 * main thread overlap with it. A worker keeps the process alive only while it has work (an idle pool
 * never blocks exit, a busy one must, or the process could end mid-backup). close() ends them.
 */
import { Worker } from 'node:worker_threads';
import { HoardError } from '../errors.js';
import type { Key } from '../crypto/crypto.js';
import type { CompressionMode } from '../format/compression.js';
import { type BlobEncoder, type EncodedBlob, encodeBlob } from './blob-codec.js';

interface Pending { resolve(e: EncodedBlob): void; reject(e: unknown): void }
interface Slot { worker: Worker; load: number }

/** Below this size a blob is encoded on the calling thread: a worker round trip costs more than the work. */
const INLINE_BELOW = 128 * 1024;

/** A pool of `size` encoder threads sharing the master key. */
export function createEncoderPool(key: Key, size: number): BlobEncoder {
  const pending = new Map<number, Pending>();
  let next = 0;
  let closed = false;
  const slots: Slot[] = Array.from({ length: Math.max(1, size) }, () => {
    const worker = new Worker(new URL('./encoder-worker.js', import.meta.url), { workerData: { key: { encrypt: key.encrypt, macK: key.macK, macR: key.macR } } });
    const slot = { worker, load: 0 };
    worker.on('message', (m: { id: number; sealed?: Uint8Array; uncompressedLength?: number; error?: string }) => {
      if (--slot.load === 0) worker.unref();
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(new HoardError('internal', `blob encoding failed: ${m.error}`));
      else p.resolve({ sealed: Buffer.from(m.sealed!.buffer, m.sealed!.byteOffset, m.sealed!.byteLength), ...(m.uncompressedLength !== undefined ? { uncompressedLength: m.uncompressedLength } : {}) });
    });
    worker.on('error', (e) => { for (const p of pending.values()) p.reject(e); pending.clear(); });
    worker.unref();
    return slot;
  });
  return {
    encode(data: Buffer, mode: CompressionMode): Promise<EncodedBlob> {
      if (data.length < INLINE_BELOW) return Promise.resolve().then(() => encodeBlob(key, data, mode));
      if (closed) return Promise.reject(new HoardError('internal', 'encoder pool is closed'));
      const slot = slots.reduce((a, b) => (b.load < a.load ? b : a));
      const id = next++;
      if (slot.load++ === 0) slot.worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, data, mode });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
