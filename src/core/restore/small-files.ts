/**
 * Writes small restored files on a worker thread, in batches (see batcher.ts: ~1 MiB or 64 files). Each write() resolves when its file is
 * in place under its real name, or rejects with the file-system error's message (kind "io").
 * Without worker threads (workers = 0) files are written on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import { Batcher } from '../batcher.js';
import { HoardError } from '../errors.js';
import { type SmallFileJob, packContents } from './small-file-batch.js';
import { writeSmallFile } from './small-file-worker.js';

interface Queued { job: SmallFileJob; data: Uint8Array; resolve(): void; reject(e: unknown): void }

const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 64;

export interface SmallFileWriter {
  write(job: Omit<SmallFileJob, 'length'>, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export function createSmallFileWriter(useWorker: boolean): SmallFileWriter {
  if (!useWorker) {
    return {
      write: async (job, data) => { writeSmallFile({ ...job, length: data.length }, data); },
      close: async () => {},
    };
  }
  const worker = new Worker(new URL('./small-file-worker.js', import.meta.url));
  worker.unref();
  const sent: Queued[][] = [];
  let failed: unknown;
  worker.on('message', (errors: (string | null)[]) => {
    const batch = sent.shift()!;
    if (sent.length === 0) worker.unref();
    batch.forEach((q, i) => (errors[i] === null ? q.resolve() : q.reject(new HoardError('io', errors[i]!))));
  });
  worker.on('error', (e) => {
    failed = e;
    for (const q of sent.flat()) q.reject(e);
    sent.length = 0;
  });
  const batcher = new Batcher<Queued>((batch) => {
    const msg = packContents(batch.map((q) => q.job), batch.map((q) => q.data));
    if (sent.length === 0) worker.ref();
    sent.push(batch);
    worker.postMessage(msg, [msg.bytes.buffer]);
  }, BATCH_BYTES, BATCH_FILES);
  return {
    write(job, data) {
      if (failed) return Promise.reject(failed);
      return new Promise<void>((resolve, reject) => batcher.add({ job: { ...job, length: data.length }, data, resolve, reject }, data.length));
    },
    async close() {
      for (const q of [...sent.flat(), ...batcher.drop()]) q.reject(new HoardError('interrupted', 'restore stopped before this file was written'));
      sent.length = 0;
      await worker.terminate();
    },
  };
}
