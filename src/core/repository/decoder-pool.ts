/**
 * Blob decoding (MAC check, decryption, decompression, id check) on worker threads, for readers of
 * big content (dump, restores of large files and databases): the main thread reads packs and
 * writes while the workers decode, and two cores decode instead of one. Batched like the encoder
 * pool (~512 KiB of stored bytes or 64 blobs per message). Workers start with the first blob and
 * never keep an idle process alive; close() ends them.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerOptions } from '../worker-options.js';
import { Batcher } from '../batcher.js';
import { HoardError } from '../errors.js';
import type { Key } from '../crypto/crypto.js';
import { BufferPool, concatParts, splitParts } from './encoder-batch.js';

/** Blobs to decode (pool → worker): `uncompressed[i]` is -1 for a blob stored uncompressed. */
export interface DecodeBatch {
  ids: string[];
  lengths: number[];
  uncompressed: number[];
  bytes: Uint8Array;
}
/**
 * Plaintexts (worker → pool): each in `own[i]` when it has a buffer of its own (transferred, not
 * copied), else in `bytes` in order; `errors[i]` is the damage found. `input` is the batch's
 * buffer, sent back for reuse.
 */
export interface DecodedBatch {
  lengths: number[];
  own: (Uint8Array | null)[];
  errors: (string | null)[];
  bytes: Uint8Array;
  input: ArrayBuffer;
}

export interface BlobDecoder {
  /** The verified plaintext of a stored blob; rejects with the damage found (an Error whose message says what). */
  decode(stored: Uint8Array, id: string, uncompressedLength: number | undefined): Promise<Buffer>;
  close(): Promise<void>;
}

interface Job {
  stored: Uint8Array;
  id: string;
  uncompressed: number;
  resolve(b: Buffer): void;
  reject(e: unknown): void;
}
interface Slot {
  worker: Worker;
  sent: Job[][];
}

const BATCH_BYTES = 512 * 1024;
const BATCH_BLOBS = 64;

/** A pool of `size` decoder threads holding the master key. */
export function createDecoderPool(key: Key, size: number): BlobDecoder {
  let slots: Slot[] | undefined;
  let closed = false;
  const buffers = new BufferPool();
  const spawn = (): Slot[] =>
    Array.from({ length: Math.max(1, size) }, () => {
      const worker = startWorker(new URL('./decoder-worker.js', import.meta.url), workerOptions(key));
      const slot: Slot = { worker, sent: [] };
      worker.unref();
      worker.on('message', (reply: DecodedBatch) => {
        const jobs = slot.sent.shift()!;
        buffers.give(reply.input);
        if (slot.sent.length === 0) worker.unref();
        const shared = splitParts(
          reply.bytes,
          reply.lengths.map((n, i) => (reply.own[i] ? 0 : n)),
        );
        jobs.forEach((j, i) => {
          const err = reply.errors[i];
          const p = reply.own[i] ?? shared[i];
          if (err !== null) j.reject(new Error(err));
          else j.resolve(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
        });
      });
      worker.on('error', (e) => {
        for (const j of slot.sent.flat()) j.reject(e);
        slot.sent.length = 0;
      });
      return slot;
    });
  const batcher = new Batcher<Job>(
    (jobs) => {
      slots ??= spawn();
      const slot = slots.reduce((a, b) => (b.sent.length < a.sent.length ? b : a));
      const { bytes, lengths } = concatParts(
        jobs.map((j) => j.stored),
        buffers,
      );
      const batch: DecodeBatch = {
        ids: jobs.map((j) => j.id),
        lengths,
        uncompressed: jobs.map((j) => j.uncompressed),
        bytes,
      };
      if (slot.sent.length === 0) slot.worker.ref();
      slot.sent.push(jobs);
      slot.worker.postMessage(batch, [bytes.buffer]);
    },
    BATCH_BYTES,
    BATCH_BLOBS,
  );
  return {
    decode(stored, id, uncompressedLength) {
      if (closed) return Promise.reject(new HoardError('internal', 'decoder pool is closed'));
      return new Promise<Buffer>((resolve, reject) =>
        batcher.add({ stored, id, uncompressed: uncompressedLength ?? -1, resolve, reject }, stored.byteLength),
      );
    },
    async close() {
      closed = true;
      const stopped = new HoardError('interrupted', 'stopped before this blob was decoded');
      for (const j of [...(slots ?? []).flatMap((s) => s.sent.flat()), ...batcher.drop()]) j.reject(stopped);
      await Promise.all((slots ?? []).map((s) => s.worker.terminate()));
    },
  };
}
