/**
 * Worker thread body for small-files.ts: verifies and decodes a small file's blobs, then creates,
 * fills and renames the file with synchronous calls. Decoding and file-system work thus run beside
 * the main thread, which walks trees and reads packs. Nothing is written until every blob verified.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../crypto/crypto.js';
import { failureKind } from '../errors.js';
import { blobDamage, decodeBlob } from '../repository/blob-codec.js';
import { type SmallFileBatch, type SmallFileJob, type SmallFileReply, type SmallFileResult, splitBatch } from './small-file-batch.js';

/** Decodes every blob (kind "corrupt" on damage), then writes the file under `tmp` and renames it to `dest`. */
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
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off);
    if (j.owner) { try { fs.fchownSync(fd, j.uid, j.gid); } catch { /* not permitted: keep ours */ } }
    if (j.perms !== undefined) fs.fchmodSync(fd, j.perms);
    fs.futimesSync(fd, j.atime, j.mtime);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, Buffer.from(j.dest, 'latin1'));
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
  const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
  const key: Key = { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };
  port.on('message', (b: SmallFileBatch) => {
    const stored = splitBatch(b);
    const reply: SmallFileReply = { results: b.jobs.map((j, i) => attempt(key, j, stored[i])), input: b.bytes.buffer };
    port.postMessage(reply, [reply.input]);
  });
}
