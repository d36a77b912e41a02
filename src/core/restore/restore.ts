/**
 * The restore verb: snapshot tree → files on disk. Each file is written under a temporary name in
 * its folder and renamed into place only when every blob verified, so a damaged blob never leaves
 * wrong bytes under the real name. Metadata (mode, owner when root, times) is applied after the
 * content; a folder's after its children.
 *
 * The target is not trusted (someone may have left symlinks in it, or plant them while we run):
 * every folder is opened once and held (held-folder.ts), everything in it is named through the held
 * folder and nothing is written, chmod'ed or chown'ed through a symlink. A symlink at a file's or
 * folder's name is replaced; a file at a folder's name is left alone and that folder (with all
 * below it) is reported as not restored. Nor are snapshot modes trusted: setuid and setgid survive
 * only where the item's real owner is the node's (item-meta.ts).
 */
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Budget } from '../budget.js';
import { type ErrorKind, HoardError, failureKind, isHoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import type { TreeNode } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { posixPermsOf } from '../sources/node-from-stat.js';
import { fileContent, walkTree } from './walk.js';
import { type SmallFileWriter, createSmallFileWriter } from './small-files.js';
import { HeldFolder } from './held-folder.js';
import { type ItemMeta, applyMetaSync } from './item-meta.js';
import { fileTime, setLinkTimes } from './file-times.js';
import { writeAll } from '../write-all.js';

export interface RestoreOptions {
  target: string;
  /** Restore only these paths (from the snapshot root) and what is below them. */
  include?: string[];
  signal?: AbortSignal;
  report?: Reporter;
  /** Apply uid/gid (only works as root). setuid/setgid bits survive only where the item ends up owned by the node's uid/gid. */
  restoreOwner?: boolean;
  /**
   * Keep files' setuid/setgid bits where the owner matches (default true); false drops them from
   * every file (folders keep setgid: it only makes new files inherit the folder's group).
   */
  keepSetId?: boolean;
  /** Threads that decode and write small files (default 1; 0 = the calling thread). */
  workers?: number;
}

/** Test seams of restoreTreeWith; not part of core's API. */
export interface RestoreSeams {
  /** Name folders' children by path, as where /proc/self/fd is missing. */
  byPath?: boolean;
}

/** What the per-node functions share during one restore; `failed`: no more folder metadata. */
interface Ctx extends RestoreOptions {
  writer: SmallFileWriter;
  running: Budget;
  failed: boolean;
}

export interface RestoreSummary {
  files: number;
  dirs: number;
  bytes: number;
  /** Items that could not be restored; `kind` is the HoardError kind ("corrupt" for damaged data, "no-space" for a full disk), else "io". */
  errors: { path: string; message: string; kind: ErrorKind }[];
}

/** The kind a restore with these errors fails with: damaged data first, then a full disk, else "io". */
export function restoreFailureKind(errors: RestoreSummary['errors']): ErrorKind {
  if (errors.some((e) => e.kind === 'corrupt')) return 'corrupt';
  if (errors.some((e) => e.kind === 'no-space')) return 'no-space';
  return 'io';
}

/**
 * True for a folder restored only because included paths lie below it: when it exists already its
 * own metadata is left as it is (an in-place restore into `/srv/app/uploads` must not change
 * `/srv`'s mode or owner to what a snapshot says).
 */
function onlyAbove(path: string, include?: string[]): boolean {
  if (!include?.length) return false;
  return !include.some((inc) => {
    const i = inc.replace(/\/+$/, '') || '/';
    return path === i || path.startsWith(i === '/' ? '/' : `${i}/`);
  });
}

function included(path: string, include?: string[]): boolean {
  if (!include?.length) return true;
  return include.some((inc) => {
    const i = inc.replace(/\/+$/, '') || '/';
    return path === i || path.startsWith(i === '/' ? '/' : `${i}/`) || i.startsWith(`${path}/`);
  });
}

/** Files restored at once, and their total weight (size, counted up to 4 MiB per file). */
const RESTORE_FILES = 256;
const RESTORE_BYTES = 32 * 1024 * 1024;

/** Files up to this size are decoded, verified and written by the small-file writer (on worker threads). */
const SMALL_FILE = 1024 * 1024;

/** Temporary names: a random part per process and a counter (one CSPRNG call per restore, not per file). */
const TMP_PREFIX = `.hoard-tmp-${randomBytes(4).toString('hex')}-`;
let tmpCounter = 0;

function metaOf(n: TreeNode, o: Ctx): ItemMeta {
  const mtime = fileTime(n.mtime); // the atime field holds the mtime unless --with-atime: parse it once
  const m: ItemMeta = {
    owner: !!o.restoreOwner,
    uid: n.uid,
    gid: n.gid,
    atime: n.atime === n.mtime ? mtime : fileTime(n.atime),
    mtime,
  };
  if (n.mode !== undefined)
    m.perms = o.keepSetId === false && n.type !== 'dir' ? posixPermsOf(n.mode) & ~0o6000 : posixPermsOf(n.mode);
  return m;
}

/** Writes a file's content under a temporary name in `dir`, sets its metadata through the handle, renames it into place. */
async function writeFile(repo: Repository, dir: HeldFolder, n: TreeNode, o: Ctx): Promise<number> {
  const tmp = dir.child(Buffer.from(`${TMP_PREFIX}${tmpCounter++}`));
  const dest = dir.child(n.name);
  if ((n.size ?? 0) <= SMALL_FILE) {
    const loaded = await Promise.all((n.content ?? []).map((id) => repo.loadStoredBlob('data', id, o.signal)));
    const blobs = loaded.map(({ loc, stored }) => ({
      id: loc.id,
      pack: loc.pack,
      length: stored.length,
      ...(loc.uncompressedLength !== undefined ? { uncompressedLength: loc.uncompressedLength } : {}),
    }));
    return o.writer.write(
      { tmp: tmp.toString('latin1'), dest: dest.toString('latin1'), ...metaOf(n, o), blobs },
      loaded.map((l) => l.stored),
    );
  }
  const fh = await fsp.open(tmp, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of fileContent(repo, n, o.signal, 8)) {
      await writeAll(fh, chunk);
      bytes += chunk.length;
    }
    if (n.size !== undefined && bytes !== n.size)
      throw new HoardError('corrupt', `the stored content has ${bytes} bytes, the snapshot says ${n.size}`);
    applyMetaSync(fh.fd, metaOf(n, o));
    await fh.close();
    await fsp.rename(tmp, dest); // replaces an existing file or symlink atomically, never follows it
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return bytes;
}

/** Makes the symlink `name` in `dir`; an existing file or symlink there is replaced, never followed. */
async function writeSymlink(dir: HeldFolder, n: TreeNode, o: Ctx): Promise<void> {
  const dest = dir.child(n.name);
  const target = n.linktarget_raw ?? Buffer.from(n.linktarget ?? '');
  await fsp.symlink(target, dest).catch(async (e) => {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    await fsp.rm(dest, { force: true }); // a folder there fails: rm is not recursive
    await fsp.symlink(target, dest);
  });
  if (o.restoreOwner) await fsp.lchown(dest, n.uid, n.gid).catch(() => {});
  await setLinkTimes(dest, fileTime(n.atime), fileTime(n.mtime)).catch(() => {});
}

/** Restores (part of) the tree `treeId` into o.target. Per-file failures are collected; damage fails loudly in errors. */
export async function restoreTree(repo: Repository, treeId: string, opts: RestoreOptions): Promise<RestoreSummary> {
  return restoreTreeWith(repo, treeId, opts, {});
}

/**
 * restoreTree with test seams. Settles only when every file task it started has settled, so that
 * nothing is written into the target, and no folder of it is held open, after it returns or throws.
 */
export async function restoreTreeWith(
  repo: Repository,
  treeId: string,
  opts: RestoreOptions,
  seams: RestoreSeams,
): Promise<RestoreSummary> {
  repo.enableReadAhead();
  repo.enableParallelDecode(opts.workers ?? 1);
  const o: Ctx = {
    ...opts,
    writer: createSmallFileWriter(repo.key, opts.workers ?? 1),
    running: new Budget(RESTORE_FILES, RESTORE_BYTES),
    failed: false,
  };
  try {
    return await restoreInto(repo, treeId, o, seams);
  } finally {
    await o.writer.close();
    await o.running.idle();
  }
}

/** A folder whose node could not be restored: what is below it is not restored either. */
interface NotRestored {
  path: string;
}

async function restoreInto(repo: Repository, treeId: string, o: Ctx, seams: RestoreSeams): Promise<RestoreSummary> {
  const report = o.report ?? silent;
  const sum: RestoreSummary = { files: 0, dirs: 0, bytes: 0, errors: [] };
  const fail = (path: string, e: unknown) => {
    const message = (e as Error).message;
    sum.errors.push({ path, message, kind: failureKind(e) });
    report({ type: 'restore.warning', path, message });
  };
  // The folders from the root to the current node (index = depth): the walk holds each while it
  // is inside. Folders are made in walk order (parents first); file contents are written
  // concurrently, many small files at once (batched to the writer threads) but few large ones.
  const open: (HeldFolder | NotRestored)[] = [await HeldFolder.root(o.target, seams.byPath)];
  let interrupted: unknown;
  try {
    for await (const w of walkTree(repo, treeId, Buffer.alloc(0), o.signal)) {
      throwIfAborted(o.signal);
      if (interrupted) throw interrupted;
      const p = w.path.toString();
      if (!included(p, o.include)) continue;
      while (open.length > w.depth) leave(open.pop()!);
      const parent = open[w.depth - 1];
      if (!(parent instanceof HeldFolder)) {
        fail(p, new HoardError('io', `not restored: the folder ${parent.path} could not be restored`));
        if (w.node.type === 'dir') open.push(parent);
      } else if (w.node.type === 'dir') {
        const above = onlyAbove(p, o.include);
        open.push(
          await restoreDir(parent, w.node, o, above).then(
            (d) => {
              if (!above) sum.dirs++;
              return d;
            },
            (e) => {
              fail(p, e);
              return { path: p };
            },
          ),
        );
      } else {
        const weight = Math.min(w.node.size ?? 0, SMALL_FILE * 4);
        await o.running.take(weight);
        parent.hold();
        void restoreItem(repo, parent, w.node, o, sum)
          .catch((e) => (isHoardError(e, 'interrupted') ? void (interrupted ??= e) : fail(p, e)))
          .finally(() => {
            parent.release();
            o.running.give(weight);
          });
      }
    }
  } catch (e) {
    o.failed = true;
    throw e;
  } finally {
    while (open.length > 0) leave(open.pop()!);
  }
  await o.running.idle();
  if (interrupted) throw interrupted;
  return sum;
}

/** The walk is done with a folder's subtree. */
function leave(f: HeldFolder | NotRestored): void {
  if (f instanceof HeldFolder) f.release();
}

/** Makes or finds the folder and holds it; its metadata is applied when its last user is done. */
async function restoreDir(parent: HeldFolder, n: TreeNode, o: Ctx, onlyAboveIncluded: boolean): Promise<HeldFolder> {
  const meta = metaOf(n, o);
  return parent.open(n.name, (fd, created) => {
    if (o.failed || (onlyAboveIncluded && !created)) return;
    try {
      applyMetaSync(fd, meta);
    } catch {
      /* best effort for folders, as before: their content is restored */
    }
  });
}

async function restoreItem(repo: Repository, dir: HeldFolder, n: TreeNode, o: Ctx, sum: RestoreSummary): Promise<void> {
  switch (n.type) {
    case 'file': {
      const bytes = await writeFile(repo, dir, n, o); // not `sum.bytes += await`: that reads sum.bytes before the wait
      sum.bytes += bytes;
      sum.files++;
      return;
    }
    case 'symlink':
      return writeSymlink(dir, n, o);
    default:
      throw new HoardError('io', `cannot restore ${n.type} nodes yet (skipped)`);
  }
}
