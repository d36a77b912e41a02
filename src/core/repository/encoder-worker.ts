/** Worker thread body for encoder-pool.ts: compresses and seals batches of blobs with the key it was given. */
import { parentPort } from 'node:worker_threads';
import { workerKey } from '../worker-options.js';
import { encodeBlob } from './blob-codec.js';
import { type JobBatch, type ReplyBatch, concatParts, splitParts } from './encoder-batch.js';

if (parentPort) {
  const port = parentPort;
  const key = workerKey();
  port.on('message', (job: JobBatch) => {
    const sealed: Uint8Array[] = [];
    const uncompressed: number[] = [];
    const errors: (string | null)[] = [];
    splitParts(job.bytes, job.lengths).forEach((data, i) => {
      try {
        const enc = encodeBlob(key, data, job.modes[i]);
        sealed.push(enc.sealed);
        uncompressed.push(enc.uncompressedLength ?? -1);
        errors.push(null);
      } catch (e) {
        sealed.push(new Uint8Array(0));
        uncompressed.push(-1);
        errors.push((e as Error).message);
      }
    });
    const { bytes, lengths } = concatParts(sealed);
    const reply: ReplyBatch = {
      ids: job.ids,
      lengths,
      uncompressed,
      errors,
      bytes,
      input: job.bytes.buffer as ArrayBuffer,
    };
    port.postMessage(reply, [bytes.buffer, reply.input]);
  });
}
