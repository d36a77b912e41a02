/** Worker thread body for encoder-pool.ts: compresses and seals blobs with the key it was given. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../crypto/crypto.js';
import { encodeBlob } from './blob-codec.js';

const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
const key: Key = { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };

parentPort!.on('message', (m: { id: number; data: Uint8Array; mode: 'auto' | 'max' | 'off' }) => {
  try {
    const enc = encodeBlob(key, m.data, m.mode);
    parentPort!.postMessage({ id: m.id, sealed: enc.sealed, uncompressedLength: enc.uncompressedLength });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
