/** Worker thread body for pack-checker.ts: verifies whole packs (pack-verify.ts) with the key it was given. */
import { parentPort, workerData } from 'node:worker_threads';
import { workerKey } from '../worker-options.js';
import type { PackedBlob } from '../format/pack.js';
import { verifyPack } from './pack-verify.js';

/** One pack to verify (pool → worker); the reply is `{ problem }`, undefined when sound. */
export interface PackJob {
  id: string;
  bytes: Uint8Array;
  indexed: PackedBlob[];
}

if (parentPort) {
  const port = parentPort;
  const key = workerKey();
  const version = workerData.version as number;
  port.on('message', (j: PackJob) => {
    let problem: string | undefined;
    try {
      problem = verifyPack(key, version, j.id, j.bytes, j.indexed);
    } catch (e) {
      problem = (e as Error).message;
    }
    port.postMessage({ problem });
  });
}
