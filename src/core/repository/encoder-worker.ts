/** Worker thread body for encoder-pool.ts: compresses and seals batches of blobs with the key it was given. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../crypto/crypto.js';
import type { CompressionMode } from '../format/compression.js';
import { encodeBlob } from './blob-codec.js';

const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
const key: Key = { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };

parentPort!.on('message', (jobs: { id: number; data: Uint8Array; mode: CompressionMode }[]) => {
  parentPort!.postMessage(jobs.map((j) => {
    try {
      const enc = encodeBlob(key, j.data, j.mode);
      return { id: j.id, sealed: enc.sealed, uncompressedLength: enc.uncompressedLength };
    } catch (e) {
      return { id: j.id, error: (e as Error).message };
    }
  }));
});
