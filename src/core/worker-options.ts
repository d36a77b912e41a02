/**
 * Options for hoard's worker threads (encoder, decoder, small-file writer, pack checker). Their
 * work is short-lived buffers, nearly all of it garbage within a batch: a small young generation
 * collects it sooner and keeps each thread's memory down (the default let each grow by tens of MB
 * on a kernel tree, at no measurable speed gain).
 */
import { type WorkerOptions, workerData } from 'node:worker_threads';
import type { Key } from './crypto/crypto.js';

const YOUNG_MB = 4;

/** Worker options carrying the master key (as plain bytes) and `extra` in `workerData`. */
export function workerOptions(key: Key, extra: Record<string, unknown> = {}): WorkerOptions {
  return { workerData: { ...extra, key: { encrypt: key.encrypt, macK: key.macK, macR: key.macR } }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
}

/** Inside a worker made with workerOptions: the master key it was given. */
export function workerKey(): Key {
  const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
  return { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };
}
