/** Worker thread body for encoder-pool.ts: compresses and seals batches of blobs with the key it was given. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../crypto/crypto.js';
import { encodeBlob } from './blob-codec.js';
import { type JobBatch, type ReplyBatch, concatParts, splitParts } from './encoder-batch.js';

if (parentPort) {
  const port = parentPort;
  const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
  const key: Key = { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };
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
    const reply: ReplyBatch = { ids: job.ids, lengths, uncompressed, errors, bytes, input: job.bytes.buffer as ArrayBuffer };
    port.postMessage(reply, [bytes.buffer, reply.input]);
  });
}
