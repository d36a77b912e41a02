/**
 * Worker thread body for small-files.ts: creates, fills and renames small files with synchronous
 * calls, so that the file-system work of a restore runs beside the main thread's decrypting and
 * verifying. Content arrives already verified.
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { type SmallFileBatch, type SmallFileJob, splitContents } from './small-file-batch.js';

/** Writes one file under `tmp`, applies its metadata through the handle, renames it to `dest`. */
export function writeSmallFile(j: SmallFileJob, data: Uint8Array): void {
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
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (b: SmallFileBatch) => {
    const contents = splitContents(b);
    const errors = b.jobs.map((j, i) => {
      try { writeSmallFile(j, contents[i]); return null; } catch (e) { return (e as Error).message; }
    });
    port.postMessage(errors);
  });
}
