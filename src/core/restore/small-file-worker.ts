/**
 * Worker thread body for small-files.ts: verifies and decodes a small file's blobs, then creates,
 * fills and renames the file with synchronous calls. Decoding and file-system work thus run beside
 * the main thread, which walks trees and reads packs. Nothing is written until every blob verified.
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { workerKey } from '../worker-options.js';
import type { Key } from '../crypto/crypto.js';
import { failureKind } from '../errors.js';
import { blobDamage, decodeBlob } from '../repository/blob-codec.js';
import { applyMetaSync } from './item-meta.js';
import {
  type SmallFileBatch,
  type SmallFileJob,
  type SmallFileReply,
  type SmallFileResult,
  splitBatch,
} from './small-file-batch.js';

/**
 * Decodes every blob (kind "corrupt" on damage), then writes the file under `tmp` (created, never
 * opened through a symlink), applies its metadata through the descriptor (item-meta.ts: the
 * setuid/setgid rule) and renames it to `dest`, replacing what is there. On failure `tmp` is removed.
 */
export function writeSmallFile(key: Key, j: SmallFileJob, stored: Uint8Array[]): number {
  const plain = j.blobs.map((b, i) => {
    try {
      return decodeBlob(key, stored[i], b.id, b.uncompressedLength);
    } catch (e) {
      throw blobDamage(b.pack, b.id, e);
    }
  });
  const data = plain.length === 1 ? plain[0] : Buffer.concat(plain);
  const tmp = Buffer.from(j.tmp, 'latin1');
  const fd = fs.openSync(tmp, 'wx', 0o600);
  let open = true; // closed once only: threads share descriptors, a second close could hit another's
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off);
    applyMetaSync(fd, j);
    open = false;
    fs.closeSync(fd);
    fs.renameSync(tmp, Buffer.from(j.dest, 'latin1'));
  } catch (e) {
    if (open) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return data.length;
}

/** One file's outcome, as the pool reports it. */
export function attempt(key: Key, j: SmallFileJob, stored: Uint8Array[]): SmallFileResult {
  try {
    return { bytes: writeSmallFile(key, j, stored) };
  } catch (e) {
    return { kind: failureKind(e), message: (e as Error).message };
  }
}

if (parentPort) {
  const port = parentPort;
  const key = workerKey();
  port.on('message', (b: SmallFileBatch) => {
    const stored = splitBatch(b);
    const reply: SmallFileReply = { results: b.jobs.map((j, i) => attempt(key, j, stored[i])), input: b.bytes.buffer };
    port.postMessage(reply, [reply.input]);
  });
}
