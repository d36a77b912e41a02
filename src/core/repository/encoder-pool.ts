/**
 * Blob encoding (zstd + AES-CTR + Poly1305) on worker threads, so that reading, chunking and
 * hashing on the main thread overlap with it. Blobs travel in batches (one message per ~512 KiB or
 * 64 blobs, or whatever has gathered by the next turn of the event loop): a round trip per small
 * blob would cost more than the work. A worker keeps the process alive only while it has work (an
 * idle pool never blocks exit, a busy one must, or the process could end mid-backup). close() ends them.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerOptions } from '../worker-options.js';
import { Batcher } from '../batcher.js';
import { HoardError } from '../errors.js';
import type { Key } from '../crypto/crypto.js';
import type { CompressionMode } from '../format/compression.js';
import type { BlobEncoder, EncodedBlob } from './blob-codec.js';
import { BufferPool, type JobBatch, type ReplyBatch, splitParts } from './encoder-batch.js';

interface Pending {
  resolve(e: EncodedBlob): void;
  reject(e: unknown): void;
}
interface Slot {
  worker: Worker;
  load: number;
}
interface Job {
  id: number;
  parts: Uint8Array[];
  size: number;
  mode: CompressionMode;
}

const BATCH_BYTES = 512 * 1024;
const BATCH_BLOBS = 64;

/** A pool of `size` encoder threads sharing the master key. */
export function createEncoderPool(key: Key, size: number): BlobEncoder {
  const pending = new Map<number, Pending>();
  const buffers = new BufferPool();
  let next = 0;
  let closed = false;

  const settle = (reply: ReplyBatch) => {
    const parts = splitParts(reply.bytes, reply.lengths);
    reply.ids.forEach((id, i) => {
      const p = pending.get(id);
      pending.delete(id);
      if (!p) return;
      const err = reply.errors[i];
      if (err !== null) {
        p.reject(new HoardError('internal', `blob encoding failed: ${err}`));
        return;
      }
      const sealed = Buffer.from(parts[i].buffer, parts[i].byteOffset, parts[i].byteLength);
      p.resolve(reply.uncompressed[i] >= 0 ? { sealed, uncompressedLength: reply.uncompressed[i] } : { sealed });
    });
  };

  // Threads start with the first blob: commands that only read never pay for them.
  let started: Slot[] | undefined;
  const spawn = (): Slot[] =>
    Array.from({ length: Math.max(1, size) }, () => {
      const worker = startWorker(new URL('./encoder-worker.js', import.meta.url), workerOptions(key));
      const slot = { worker, load: 0 };
      worker.on('message', (reply: ReplyBatch) => {
        if (--slot.load === 0) worker.unref();
        buffers.give(reply.input);
        settle(reply);
      });
      worker.on('error', (e) => {
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      });
      worker.unref();
      return slot;
    });

  const send = (jobs: Job[]) => {
    started ??= spawn();
    const slot = started.reduce((a, b) => (b.load < a.load ? b : a));
    if (slot.load++ === 0) slot.worker.ref();
    // the parts go straight into one pooled buffer: the only copy a new chunk's bytes get on this thread
    const bytes = buffers.take(jobs.reduce((n, j) => n + j.size, 0));
    let at = 0;
    for (const j of jobs)
      for (const p of j.parts) {
        bytes.set(p, at);
        at += p.byteLength;
      }
    const batch: JobBatch = {
      ids: jobs.map((j) => j.id),
      lengths: jobs.map((j) => j.size),
      modes: jobs.map((j) => j.mode),
      bytes,
    };
    slot.worker.postMessage(batch, [bytes.buffer]);
  };
  const batcher = new Batcher<Job>(send, BATCH_BYTES, BATCH_BLOBS);

  return {
    encode(parts: Uint8Array[], size: number, mode: CompressionMode): Promise<EncodedBlob> {
      if (closed) return Promise.reject(new HoardError('internal', 'encoder pool is closed'));
      const id = next++;
      const result = new Promise<EncodedBlob>((resolve, reject) => pending.set(id, { resolve, reject }));
      if (size >= BATCH_BYTES) {
        send([{ id, parts, size, mode }]);
        return result;
      }
      batcher.add({ id, parts, size, mode }, size);
      return result;
    },
    async close() {
      closed = true;
      await Promise.all((started ?? []).map((s) => s.worker.terminate()));
      // a blob sent but not answered would otherwise keep its caller waiting for a thread that is gone
      const stopped = new HoardError('interrupted', 'stopped before this blob was encoded');
      batcher.drop();
      for (const p of pending.values()) p.reject(stopped);
      pending.clear();
    },
  };
}
