/** Worker thread body for decoder-pool.ts: verifies and decodes batches of stored blobs with the key it was given. */
import { parentPort } from 'node:worker_threads';
import { workerKey } from '../worker-options.js';
import { decodeBlob } from './blob-codec.js';
import { concatParts, splitParts } from './encoder-batch.js';
import type { DecodeBatch, DecodedBatch } from './decoder-pool.js';

if (parentPort) {
  const port = parentPort;
  const key = workerKey();
  port.on('message', (b: DecodeBatch) => {
    const errors: (string | null)[] = [];
    const plain = splitParts(b.bytes, b.lengths).map((stored, i) => {
      try {
        const out = decodeBlob(key, stored, b.ids[i], b.uncompressed[i] < 0 ? undefined : b.uncompressed[i]);
        errors.push(null);
        return out;
      } catch (e) {
        errors.push((e as Error).message);
        return new Uint8Array(0);
      }
    });
    // a plaintext that fills a buffer of its own (a big blob) is transferred; the rest are copied into one
    const own = plain.map((p) =>
      p.byteOffset === 0 && p.byteLength === p.buffer.byteLength && p.byteLength > 0 ? p : null,
    );
    const { bytes } = concatParts(plain.filter((_, i) => !own[i]));
    const reply: DecodedBatch = {
      lengths: plain.map((p) => p.byteLength),
      own,
      errors,
      bytes,
      input: b.bytes.buffer as ArrayBuffer,
    };
    port.postMessage(reply, [
      bytes.buffer,
      reply.input,
      ...own.filter((p) => p !== null).map((p) => p.buffer as ArrayBuffer),
    ]);
  });
}
