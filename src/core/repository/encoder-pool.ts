/**
 * Blob encoding (zstd + AES-CTR + Poly1305) on worker threads, so that chunking, hashing and file
 * I/O on the main thread overlap with it. Small blobs are sent in batches (one message per ~1 MiB
 * or per event-loop turn): a message costs more than encoding a small file. A worker keeps the
 * process alive only while it has work (an idle pool never blocks exit, a busy one must, or the
 * process could end mid-backup). close() ends the workers.
 */
import { Worker } from 'node:worker_threads';
import { HoardError } from '../errors.js';
import type { Key } from '../crypto/crypto.js';
import type { CompressionMode } from '../format/compression.js';
import type { BlobEncoder, EncodedBlob } from './blob-codec.js';

interface Job { id: number; data: Buffer; mode: CompressionMode }
interface Result { id: number; sealed?: Uint8Array; uncompressedLength?: number; error?: string }
interface Pending { resolve(e: EncodedBlob): void; reject(e: unknown): void }
interface Slot { worker: Worker; load: number }

const BATCH_BYTES = 1024 * 1024;

/** A pool of `size` encoder threads sharing the master key. */
export function createEncoderPool(key: Key, size: number): BlobEncoder {
  const pending = new Map<number, Pending>();
  let next = 0;
  let closed = false;
  let queue: Job[] = [];
  let queued = 0;
  let scheduled = false;

  const slots: Slot[] = Array.from({ length: Math.max(1, size) }, () => {
    const worker = new Worker(new URL('./encoder-worker.js', import.meta.url), { workerData: { key: { encrypt: key.encrypt, macK: key.macK, macR: key.macR } } });
    const slot = { worker, load: 0 };
    worker.on('message', (results: Result[]) => {
      slot.load -= results.length;
      if (slot.load === 0) worker.unref();
      for (const r of results) {
        const p = pending.get(r.id);
        pending.delete(r.id);
        if (!p) continue;
        if (r.error !== undefined) p.reject(new HoardError('internal', `blob encoding failed: ${r.error}`));
        else p.resolve({ sealed: Buffer.from(r.sealed!.buffer, r.sealed!.byteOffset, r.sealed!.byteLength), ...(r.uncompressedLength !== undefined ? { uncompressedLength: r.uncompressedLength } : {}) });
      }
    });
    worker.on('error', (e) => { for (const p of pending.values()) p.reject(e); pending.clear(); });
    worker.unref();
    return slot;
  });

  function flush(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const slot = slots.reduce((a, b) => (b.load < a.load ? b : a));
    if (slot.load === 0) slot.worker.ref();
    slot.load += queue.length;
    slot.worker.postMessage(queue);
    queue = [];
    queued = 0;
  }

  return {
    encode(data: Buffer, mode: CompressionMode): Promise<EncodedBlob> {
      if (closed) return Promise.reject(new HoardError('internal', 'encoder pool is closed'));
      const id = next++;
      const p = new Promise<EncodedBlob>((resolve, reject) => pending.set(id, { resolve, reject }));
      queue.push({ id, data, mode });
      queued += data.length;
      if (queued >= BATCH_BYTES) flush();
      else if (!scheduled) { scheduled = true; setImmediate(flush); }
      return p;
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
