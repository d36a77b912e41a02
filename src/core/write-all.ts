/**
 * Writing a whole buffer through a file handle. A write may store fewer bytes than asked (a disk
 * that is nearly full does that before it fails with ENOSPC); writing a chunk once and moving on
 * would leave a file with a hole cut out of it. A write that stores nothing fails as a full disk.
 */
import type { FileHandle } from 'node:fs/promises';
import { HoardError } from './errors.js';

export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; ) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    if (bytesWritten <= 0)
      throw new HoardError('no-space', 'no space left on the device (a write stored nothing)', {
        hint: 'free some space and run again',
      });
    off += bytesWritten;
  }
}
