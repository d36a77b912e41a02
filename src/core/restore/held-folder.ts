/**
 * Folders of a restore target, held open while their subtree is restored, so that nothing inside
 * the target is reached through a symlink: not at an item's own name, not at any folder between
 * the target root and the item. The root itself is the caller's choice and may be a symlink.
 *
 * On Linux a held folder's children are named `/proc/self/fd/<fd>/<name>` (Node has no openat):
 * the magic link resolves to the opened folder itself, worker threads share the descriptor table,
 * so a folder (or one above it) swapped for a symlink after it was opened changes nothing. Final
 * components are never followed: folders are opened O_DIRECTORY|O_NOFOLLOW, files are created
 * O_CREAT|O_EXCL under a temporary name and renamed over the real one, symlinks are lchown'd.
 *
 * Where /proc/self/fd is missing, children are named by the folder's path under the target. Each
 * folder was checked when it was opened (O_NOFOLLOW: no symlink at that moment), and so were the
 * folders above it, but this fallback does NOT resist a concurrent swap: a local user who replaces
 * a folder with a symlink while the restore runs can redirect what is written below it.
 *
 * Lifetime: a folder is held by the walk while its subtree is walked, by each task that names
 * things in it, and by each held child folder. The last release calls `finish` with the descriptor
 * (the restore applies the folder's own metadata there: after its children, since a read-only
 * folder would block them and their creation changes its mtime), closes it and releases the parent.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { HoardError } from '../errors.js';

const openFd = promisify(fs.open);
const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** A folder of the target, open as `fd`, with a count of its users. */
export class HeldFolder {
  private refs = 1;

  private constructor(
    readonly fd: number,
    /** How children are named: "/proc/self/fd/<fd>/", or the folder's path and "/". */
    private readonly prefix: Buffer,
    private readonly byProc: boolean,
    private readonly parent?: HeldFolder,
    private readonly finish?: (fd: number) => void,
  ) {}

  /** The name `name` in this folder, for path calls; the caller must not follow its last component. */
  child(name: Buffer): Buffer {
    return Buffer.concat([this.prefix, name]);
  }

  /** One more user; pair with release(). */
  hold(): void {
    this.refs++;
  }

  /** Drops one user; the last one runs `finish` (its errors propagate), closes the folder and releases the parent. */
  release(): void {
    if (--this.refs > 0) return;
    try {
      this.finish?.(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.parent?.release();
    }
  }

  /**
   * Creates (recursively, following symlinks: the caller chose it) and holds the target root.
   * `byPath` names children by path even where /proc/self/fd works (tests of the fallback).
   */
  static async root(target: string, byPath = false): Promise<HeldFolder> {
    await fs.promises.mkdir(target, { recursive: true });
    const fd = await openFd(target, O_RDONLY | O_DIRECTORY);
    if (!byPath && procNamesFolder(fd)) return new HeldFolder(fd, procPrefix(fd), true);
    return new HeldFolder(fd, Buffer.from(target.endsWith('/') ? target : `${target}/`), false);
  }

  /**
   * Makes (mode 0700) or finds the folder `name` in this one and holds it, with `finish` for its
   * last release. A symlink at the name is removed, not followed, and a folder made instead; any
   * other non-folder there is left as it is and fails with kind "io" saying what it is.
   */
  async open(name: Buffer, finish: (fd: number, created: boolean) => void): Promise<HeldFolder> {
    const path = this.child(name);
    const { fd, created } = await openFolder(path);
    this.hold();
    const prefix = this.byProc ? procPrefix(fd) : Buffer.concat([path, SLASH]);
    return new HeldFolder(fd, prefix, this.byProc, this, (f) => finish(f, created));
  }
}

const SLASH = Buffer.from('/');
const procPrefix = (fd: number) => Buffer.from(`/proc/self/fd/${fd}/`);

/** Whether /proc/self/fd/<fd> is the folder open as fd (Linux with /proc mounted). */
function procNamesFolder(fd: number): boolean {
  try {
    const a = fs.statSync(`/proc/self/fd/${fd}`),
      b = fs.fstatSync(fd);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Opens the folder at `path`, making it when missing; `created` says whether this call made it. */
async function openFolder(path: Buffer): Promise<{ fd: number; created: boolean }> {
  let created = false;
  for (let attempt = 0; ; attempt++) {
    await fs.promises.mkdir(path, 0o700).then(
      () => {
        created = true;
      },
      (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      },
    );
    try {
      return { fd: await openFd(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), created };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR' && code !== 'ELOOP') throw e;
      const st = await fs.promises.lstat(path);
      const retry = attempt === 0 && (st.isSymbolicLink() || st.isDirectory()); // a folder: swapped in meanwhile
      if (!retry)
        throw new HoardError(
          'io',
          `${what(st)} is in the way of this folder (left as it is, the folder is not restored)`,
        );
      if (st.isSymbolicLink()) await fs.promises.unlink(path); // the link itself, never what it points to
    }
  }
}

function what(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return st.isDirectory() ? 'a folder that keeps being replaced' : 'something that is not a folder';
}
