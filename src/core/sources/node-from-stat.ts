/** Converting local file metadata to restic tree nodes (restic-format.md §10.2, §10.3). */
import { readFileSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { formatGoTime, goTimeFromNs } from '../format/time.js';
import { GoMode, type NodeType, type TreeNode, type U64 } from '../format/tree.js';

const S_IFMT = 0o170000;

/** The node type for a file's POSIX mode, or undefined for sockets (restic skips them). */
export function nodeTypeOf(mode: number): NodeType | undefined {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o060000:
      return 'dev';
    case 0o020000:
      return 'chardev';
    case 0o010000:
      return 'fifo';
    default:
      return undefined;
  }
}

/** Go FileMode value from a POSIX st_mode. */
export function goModeOf(mode: number): number {
  let m = mode & 0o777;
  if (mode & 0o4000) m += GoMode.setuid;
  if (mode & 0o2000) m += GoMode.setgid;
  if (mode & 0o1000) m += GoMode.sticky;
  switch (mode & S_IFMT) {
    case 0o040000:
      m += GoMode.dir;
      break;
    case 0o120000:
      m += GoMode.symlink;
      break;
    case 0o060000:
      m += GoMode.device;
      break;
    case 0o020000:
      m += GoMode.device + GoMode.charDevice;
      break;
    case 0o010000:
      m += GoMode.namedPipe;
      break;
  }
  return m;
}

/** POSIX permission bits (with setuid/setgid/sticky) from a Go FileMode. */
export function posixPermsOf(goMode: number): number {
  let m = goMode % 0o1000; // low 9 bits; the value may exceed 2^31 so avoid bitwise ops on it
  if (Math.floor(goMode / GoMode.setuid) % 2) m |= 0o4000;
  if (Math.floor(goMode / GoMode.setgid) % 2) m |= 0o2000;
  if (Math.floor(goMode / GoMode.sticky) % 2) m |= 0o1000;
  return m;
}

const u64 = (v: bigint): U64 => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** Maps uid/gid to names from /etc/passwd and /etc/group (cached; missing files mean no names). */
export function createNameLookup(): { user(uid: number): string | undefined; group(gid: number): string | undefined } {
  const load = (file: string): Map<number, string> => {
    const m = new Map<number, string>();
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length > 2 && /^\d+$/.test(f[2])) m.set(Number(f[2]), f[0]);
      }
    } catch {
      /* no names on this system */
    }
    return m;
  };
  let users: Map<number, string> | undefined, groups: Map<number, string> | undefined;
  return {
    user: (uid) => (users ??= load('/etc/passwd')).get(uid),
    group: (gid) => (groups ??= load('/etc/group')).get(gid),
  };
}

/**
 * A node with everything stat tells; content/subtree/linktarget are filled in by the caller. The
 * atime field holds the mtime unless `withAtime` (restic's default and its --with-atime): an access
 * time changes whenever anything reads the item, and storing it would make every backup after a
 * read store a new tree for an unchanged folder.
 */
export function nodeFromStat(
  name: Buffer,
  type: NodeType,
  st: BigIntStats,
  names: ReturnType<typeof createNameLookup>,
  withAtime = false,
): TreeNode {
  const uid = Number(st.uid),
    gid = Number(st.gid);
  const mtime = formatGoTime(goTimeFromNs(st.mtimeNs));
  const n: TreeNode = {
    name,
    type,
    mode: goModeOf(Number(st.mode)),
    mtime,
    atime: withAtime ? formatGoTime(goTimeFromNs(st.atimeNs)) : mtime,
    ctime: formatGoTime(goTimeFromNs(st.ctimeNs)),
    uid,
    gid,
    user: names.user(uid),
    group: names.group(gid),
    inode: u64(st.ino),
    device_id: u64(st.dev),
    content: null,
  };
  if (type === 'file') n.size = Number(st.size);
  if (type === 'file' || type === 'symlink' || type === 'dev' || type === 'chardev') n.links = u64(st.nlink);
  if (type === 'dev' || type === 'chardev') n.device = u64(st.rdev);
  return n;
}
