/**
 * The restore verb: snapshot tree → files on disk. Each file is written under a temporary name in
 * its folder and renamed into place only when every blob verified, so a damaged blob never leaves
 * wrong bytes under the real name. Metadata (mode, owner when root, times) is applied after the
 * content; folder times after their children.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { HoardError, isHoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import { parseGoTime } from '../format/time.js';
import type { TreeNode } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { posixPermsOf } from '../sources/node-from-stat.js';
import { type WalkedNode, fileContent, walkTree } from './walk.js';

export interface RestoreOptions {
  target: string;
  /** Restore only these paths (from the snapshot root) and what is below them. */
  include?: string[];
  signal?: AbortSignal;
  report?: Reporter;
  /** Apply uid/gid (only works as root). */
  restoreOwner?: boolean;
}

export interface RestoreSummary {
  files: number;
  dirs: number;
  bytes: number;
  /** Items that could not be restored; `kind` is the HoardError kind ("corrupt" for damaged data), else "io". */
  errors: { path: string; message: string; kind: string }[];
}

function included(path: string, include?: string[]): boolean {
  if (!include?.length) return true;
  return include.some((inc) => {
    const i = inc.replace(/\/+$/, '') || '/';
    return path === i || path.startsWith(i === '/' ? '/' : `${i}/`) || i.startsWith(`${path}/`);
  });
}

/**
 * Seconds for utimes with microsecond accuracy: the value is biased by half a microsecond so that
 * the float → timespec truncation lands on the right microsecond.
 */
const toTime = (s: string): number => {
  try { return (Number(parseGoTime(s).ns / 1000n) + 0.5) / 1e6; } catch { return 0; }
};

const RESTORE_CONCURRENCY = 8;

/** Files up to this size are verified in memory, then written with synchronous calls (no thread-pool hop per call). */
const SMALL_FILE = 1024 * 1024;

/** Writes a file's content under a temporary name, sets its metadata through the handle, renames it into place. */
async function writeFile(repo: Repository, dest: Buffer, n: TreeNode, o: RestoreOptions): Promise<number> {
  const tmp = Buffer.concat([dest, Buffer.from(`.hoard-tmp-${randomBytes(6).toString('hex')}`)]);
  if ((n.size ?? 0) <= SMALL_FILE) {
    const parts: Buffer[] = [];
    for await (const chunk of fileContent(repo, n, o.signal)) parts.push(chunk);
    return writeSmallSync(tmp, dest, Buffer.concat(parts), n, o);
  }
  const fh = await fsp.open(tmp, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of fileContent(repo, n, o.signal)) {
      await fh.write(chunk);
      bytes += chunk.length;
    }
    if (o.restoreOwner) await fh.chown(n.uid, n.gid).catch(() => {});
    if (n.mode !== undefined) await fh.chmod(posixPermsOf(n.mode));
    await fh.utimes(toTime(n.atime), toTime(n.mtime));
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, dest); // replaces an existing file atomically
  return bytes;
}

/** The small-file path: every blob already verified; create, write, set metadata, rename. */
function writeSmallSync(tmp: Buffer, dest: Buffer, data: Buffer, n: TreeNode, o: RestoreOptions): number {
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off);
    if (o.restoreOwner) { try { fs.fchownSync(fd, n.uid, n.gid); } catch { /* not permitted: keep ours */ } }
    if (n.mode !== undefined) fs.fchmodSync(fd, posixPermsOf(n.mode));
    fs.futimesSync(fd, toTime(n.atime), toTime(n.mtime));
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, dest);
  return data.length;
}

async function applyMeta(dest: Buffer, n: TreeNode, o: RestoreOptions): Promise<void> {
  if (n.type === 'symlink') {
    if (o.restoreOwner) await fsp.lchown(dest, n.uid, n.gid).catch(() => {});
    await fsp.lutimes(dest, toTime(n.atime), toTime(n.mtime)).catch(() => {});
    return;
  }
  if (o.restoreOwner) await fsp.chown(dest, n.uid, n.gid).catch(() => {});
  if (n.mode !== undefined) await fsp.chmod(dest, posixPermsOf(n.mode));
  await fsp.utimes(dest, toTime(n.atime), toTime(n.mtime));
}

/** Restores (part of) the tree `treeId` into o.target. Per-file failures are collected; damage fails loudly in errors. */
export async function restoreTree(repo: Repository, treeId: string, o: RestoreOptions): Promise<RestoreSummary> {
  const report = o.report ?? silent;
  const sum: RestoreSummary = { files: 0, dirs: 0, bytes: 0, errors: [] };
  const root = Buffer.from(o.target.replace(/\/+$/, '') || '/');
  await fsp.mkdir(root, { recursive: true });
  const dirs: WalkedNode[] = [];
  // Folders are created in walk order (parents first); file contents are written concurrently.
  const running = new Set<Promise<void>>();
  for await (const w of walkTree(repo, treeId, Buffer.alloc(0), o.signal)) {
    throwIfAborted(o.signal);
    const p = w.path.toString();
    if (!included(p, o.include)) continue;
    const dest = Buffer.concat([root, w.path]);
    const task = restoreNode(repo, dest, w, o, sum, dirs).catch((e) => {
      if (isHoardError(e, 'interrupted')) throw e;
      const message = (e as Error).message;
      sum.errors.push({ path: p, message, kind: isHoardError(e) ? e.kind : 'io' });
      report({ type: 'restore.warning', path: p, message });
    });
    if (w.node.type === 'dir') { await task; continue; }
    running.add(task);
    void task.finally(() => running.delete(task)).catch(() => {});
    if (running.size >= RESTORE_CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  for (const d of dirs.reverse()) await applyMeta(Buffer.concat([root, d.path]), d.node, o).catch(() => {});
  return sum;
}

async function restoreNode(repo: Repository, dest: Buffer, w: WalkedNode, o: RestoreOptions, sum: RestoreSummary, dirs: WalkedNode[]): Promise<void> {
  const n = w.node;
  switch (n.type) {
    case 'dir':
      await fsp.mkdir(dest, { recursive: true, mode: 0o700 });
      dirs.push(w);
      sum.dirs++;
      return;
    case 'file':
      sum.bytes += await writeFile(repo, dest, n, o);
      sum.files++;
      return;
    case 'symlink': {
      const target = n.linktarget_raw ?? Buffer.from(n.linktarget ?? '');
      await fsp.symlink(target, dest).catch(async (e) => {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        await fsp.rm(dest, { force: true });
        await fsp.symlink(target, dest);
      });
      break;
    }
    default:
      throw new HoardError('io', `cannot restore ${n.type} nodes yet (skipped)`);
  }
  await applyMeta(dest, n, o);
}
