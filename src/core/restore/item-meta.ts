/**
 * A restored item's metadata, applied through its open descriptor (never by name, so never through
 * a symlink): owner, permission bits, times. Synchronous: it runs on the small-file threads, and on
 * the main thread for large files and folders, where a handful of descriptor calls take
 * microseconds and keep a folder's release (held-folder.ts) free of awaits.
 *
 * The setuid/setgid rule: no restore leaves a setuid item unless its owner is the node's uid, nor a
 * setgid item unless its group is the node's gid. A restore that cannot (or was not asked to)
 * chown would otherwise turn a snapshot's setuid program into one owned by whoever runs the restore.
 */
import * as fs from 'node:fs';
import { type FileTime, setTimesSync } from './file-times.js';

/** What an item gets after its content. `perms` is the POSIX permission bits with setuid/setgid/sticky. */
export interface ItemMeta {
  perms?: number;
  /** Try to chown to uid/gid (works as root; a refusal keeps the owner we have). */
  owner: boolean;
  uid: number;
  gid: number;
  atime: FileTime;
  mtime: FileTime;
}

const SETUID = 0o4000;
const SETGID = 0o2000;

/** `perms` without the setuid bit unless `st` is owned by m.uid, without setgid unless its group is m.gid. */
export function allowedPerms(perms: number, st: { uid: number; gid: number }, m: ItemMeta): number {
  let p = perms;
  if (st.uid !== m.uid) p &= ~SETUID;
  if (st.gid !== m.gid) p &= ~SETGID;
  return p;
}

/**
 * Applies `m` to the item open as `fd`: owner first (chown may clear set-id bits), then the
 * permission bits under the set-id rule, checked against the real owner after the chown, then the
 * times. Without `perms` the item keeps its bits, except set-id bits it inherited that break the
 * rule (a folder made in a setgid folder inherits setgid). Throws what fchmod/futimes/fstat throw.
 */
export function applyMetaSync(fd: number, m: ItemMeta): void {
  if (m.owner) {
    try {
      fs.fchownSync(fd, m.uid, m.gid);
    } catch {
      /* not permitted: keep ours */
    }
  }
  let perms = m.perms;
  if (perms === undefined || perms & (SETUID | SETGID)) {
    const st = fs.fstatSync(fd);
    const have = st.mode & 0o7777;
    perms = allowedPerms(perms ?? have, st, m);
    if (m.perms === undefined && perms === have) perms = undefined;
  }
  if (perms !== undefined) fs.fchmodSync(fd, perms);
  setTimesSync(fd, m.atime, m.mtime);
}
