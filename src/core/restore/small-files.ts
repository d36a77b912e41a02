/**
 * Decodes and writes small restored files on worker threads, in batches (see batcher.ts: ~1 MiB or
 * 64 files). The caller passes each file's blobs as stored; write() resolves with the bytes
 * written once the file is in place under its real name, or rejects with kind "corrupt" (a blob
 * failed to verify: nothing was written) or "io". With `workers` 0 it all runs on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerOptions } from '../worker-options.js';
import { Batcher } from '../batcher.js';
import { HoardError } from '../errors.js';
import type { Key } from '../crypto/crypto.js';
import { type SmallFileJob, type SmallFileReply, type SmallFileResult, packBatch } from './small-file-batch.js';
import { BufferPool } from '../repository/encoder-batch.js';
import { attempt } from './small-file-worker.js';

interface Queued {
  job: SmallFileJob;
  stored: Uint8Array[];
  resolve(n: number): void;
  reject(e: unknown): void;
}
interface Slot {
  worker: Worker;
  sent: Queued[][];
}

const BATCH_BYTES = 512 * 1024;
const BATCH_FILES = 32;

export interface SmallFileWriter {
  write(job: SmallFileJob, stored: Uint8Array[]): Promise<number>;
  /** Stops the threads, then rejects (kind "interrupted") every job not answered yet, and every write after it. */
  close(): Promise<void>;
}

const settle = (q: Queued, r: SmallFileResult) =>
  'bytes' in r ? q.resolve(r.bytes) : q.reject(new HoardError(r.kind, r.message));

export function createSmallFileWriter(key: Key, workers: number): SmallFileWriter {
  if (workers <= 0) {
    return {
      write: async (job, stored) =>
        new Promise((resolve, reject) => settle({ job, stored, resolve, reject }, attempt(key, job, stored))),
      close: async () => {},
    };
  }
  let failed: unknown;
  const stopped = new HoardError('interrupted', 'restore stopped before this file was written');
  const buffers = new BufferPool();
  const slots: Slot[] = Array.from({ length: workers }, () => {
    const worker = startWorker(new URL('./small-file-worker.js', import.meta.url), workerOptions(key));
    worker.unref();
    const slot: Slot = { worker, sent: [] };
    worker.on('message', ({ results, input }: SmallFileReply) => {
      buffers.give(input);
      const batch = slot.sent.shift()!;
      if (slot.sent.length === 0) worker.unref();
      batch.forEach((q, i) => settle(q, results[i]));
    });
    worker.on('error', (e) => {
      failed = e;
      for (const q of slot.sent.flat()) q.reject(e);
      slot.sent.length = 0;
    });
    return slot;
  });
  const batcher = new Batcher<Queued>(
    (batch) => {
      const slot = slots.reduce((a, b) => (b.sent.length < a.sent.length ? b : a));
      const msg = packBatch(
        batch.map((q) => q.job),
        batch.flatMap((q) => q.stored),
        buffers,
      );
      if (slot.sent.length === 0) slot.worker.ref();
      slot.sent.push(batch);
      slot.worker.postMessage(msg, [msg.bytes.buffer]);
    },
    BATCH_BYTES,
    BATCH_FILES,
  );
  return {
    write(job, stored) {
      if (failed) return Promise.reject(failed);
      return new Promise<number>((resolve, reject) =>
        batcher.add(
          { job, stored, resolve, reject },
          stored.reduce((n, s) => n + s.byteLength, 0),
        ),
      );
    },
    async close() {
      failed ??= stopped; // a file whose blobs arrive after this must not wait for a thread that is gone
      // Threads stop first: a rejection lets the restore close the folder a job names, and a
      // thread still writing could then meet that descriptor number reused.
      await Promise.all(slots.map((s) => s.worker.terminate()));
      for (const q of [...slots.flatMap((s) => s.sent.flat()), ...batcher.drop()]) q.reject(stopped);
    },
  };
}
