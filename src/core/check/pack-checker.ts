/**
 * Pack verification on worker threads for check --read-data: the calling thread loads packs and the
 * threads hash, decrypt and decode them, one pack each at a time, so both cores work (restic checks
 * packs in parallel too). A pack's bytes are transferred, not copied, when they fill their own
 * buffer. With `threads` 0 everything runs on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerOptions } from '../worker-options.js';
import type { Key } from '../crypto/crypto.js';
import { HoardError } from '../errors.js';
import type { PackedBlob } from '../format/pack.js';
import type { PackJob } from './pack-check-worker.js';
import { verifyPack } from './pack-verify.js';

export interface PackChecker {
  /** Resolves to the pack's first problem, or undefined when it is sound (pack-verify.ts). */
  check(id: string, bytes: Buffer, indexed: PackedBlob[]): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Waiting {
  job: PackJob;
  resolve(p: string | undefined): void;
  reject(e: unknown): void;
}

export function createPackChecker(key: Key, version: number, threads: number): PackChecker {
  if (threads <= 0)
    return { check: async (id, bytes, indexed) => verifyPack(key, version, id, bytes, indexed), close: async () => {} };
  const queue: Waiting[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, Waiting>();
  let alive = threads;
  let closed = false;
  // A thread that dies (a pack that exhausted its memory) fails its pack; when none is left, so does every queued one.
  const fail = (w: Worker, e: unknown) => {
    busy.get(w)?.reject(e);
    busy.delete(w);
    if (--alive === 0) for (const q of queue.splice(0)) q.reject(e);
  };
  const workers = Array.from({ length: threads }, () => {
    const w = startWorker(new URL('./pack-check-worker.js', import.meta.url), workerOptions(key, { version }));
    w.unref();
    w.on('message', ({ problem }: { problem?: string }) => {
      busy.get(w)?.resolve(problem);
      busy.delete(w);
      idle.push(w);
      pump();
    });
    w.on('error', (e) => fail(w, e));
    idle.push(w);
    return w;
  });
  const pump = () => {
    while (idle.length && queue.length) {
      const w = idle.pop()!,
        q = queue.shift()!;
      busy.set(w, q);
      const b = q.job.bytes;
      const own = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
      w.postMessage(q.job, own ? [b.buffer as ArrayBuffer] : []);
    }
    for (const w of workers) busy.has(w) ? w.ref() : w.unref();
  };
  return {
    check(id, bytes, indexed) {
      if (alive === 0 || closed)
        return Promise.reject(new HoardError(closed ? 'interrupted' : 'internal', 'the pack-checker threads stopped'));
      return new Promise((resolve, reject) => {
        queue.push({ job: { id, bytes, indexed }, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      const stopped = new HoardError('interrupted', 'check stopped before this pack was read');
      for (const q of [...queue.splice(0), ...busy.values()]) q.reject(stopped);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
