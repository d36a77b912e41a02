/**
 * The restore verb: snapshot tree → files on disk. Each file is written under a temporary name in
 * its folder and renamed into place only when every blob verified, so a damaged blob never leaves
 * wrong bytes under the real name. Metadata (mode, owner when root, times) is applied after the
 * content; folder times after their children.
 */
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Budget } from '../budget.js';
import { type ErrorKind, HoardError, failureKind, isHoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import { parseGoTime } from '../format/time.js';
import type { TreeNode } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { posixPermsOf } from '../sources/node-from-stat.js';
import { type WalkedNode, fileContent, walkTree } from './walk.js';
import { type SmallFileWriter, createSmallFileWriter } from './small-files.js';
import { writeAll } from '../write-all.js';

export interface RestoreOptions {
  target: string;
  /** Restore only these paths (from the snapshot root) and what is below them. */
  include?: string[];
  signal?: AbortSignal;
  report?: Reporter;
  /** Apply uid/gid (only works as root). */
  restoreOwner?: boolean;
  /** Threads that decode and write small files (default 1; 0 = the calling thread). */
  workers?: number;
}

/** What the per-node functions share during one restore. */
interface Ctx extends RestoreOptions { writer: SmallFileWriter }

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

/** Files restored at once, and their total weight (size, counted up to 4 MiB per file). */
const RESTORE_FILES = 256;
const RESTORE_BYTES = 32 * 1024 * 1024;

/** Files up to this size are decoded, verified and written by the small-file writer (on worker threads). */
const SMALL_FILE = 1024 * 1024;

/** Temporary names: a random part per process and a counter (one CSPRNG call per restore, not per file). */
const TMP_PREFIX = `.hoard-tmp-${randomBytes(4).toString('hex')}-`;
let tmpCounter = 0;

/** Writes a file's content under a temporary name, sets its metadata through the handle, renames it into place. */
async function writeFile(repo: Repository, dest: Buffer, n: TreeNode, o: Ctx): Promise<number> {
  const tmp = Buffer.concat([dest, Buffer.from(`${TMP_PREFIX}${tmpCounter++}`)]);
  if ((n.size ?? 0) <= SMALL_FILE) {
    const loaded = await Promise.all((n.content ?? []).map((id) => repo.loadStoredBlob('data', id, o.signal)));
    const blobs = loaded.map(({ loc, stored }) => ({ id: loc.id, pack: loc.pack, length: stored.length, ...(loc.uncompressedLength !== undefined ? { uncompressedLength: loc.uncompressedLength } : {}) }));
    return o.writer.write({
      tmp: tmp.toString('latin1'), dest: dest.toString('latin1'), owner: !!o.restoreOwner, uid: n.uid, gid: n.gid,
      atime: toTime(n.atime), mtime: toTime(n.mtime), ...(n.mode !== undefined ? { perms: posixPermsOf(n.mode) } : {}), blobs,
    }, loaded.map((l) => l.stored));
  }
  const fh = await fsp.open(tmp, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of fileContent(repo, n, o.signal, 8)) {
      await writeAll(fh, chunk);
      bytes += chunk.length;
    }
    if (n.size !== undefined && bytes !== n.size) throw new HoardError('corrupt', `the stored content has ${bytes} bytes, the snapshot says ${n.size}`);
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
export async function restoreTree(repo: Repository, treeId: string, opts: RestoreOptions): Promise<RestoreSummary> {
  repo.enableReadAhead();
  repo.enableParallelDecode(opts.workers ?? 1);
  const o: Ctx = { ...opts, writer: createSmallFileWriter(repo.key, opts.workers ?? 1) };
  try {
    return await restoreInto(repo, treeId, o);
  } finally {
    await o.writer.close();
  }
}

async function restoreInto(repo: Repository, treeId: string, o: Ctx): Promise<RestoreSummary> {
  const report = o.report ?? silent;
  const sum: RestoreSummary = { files: 0, dirs: 0, bytes: 0, errors: [] };
  const root = Buffer.from(o.target.replace(/\/+$/, '') || '/');
  await fsp.mkdir(root, { recursive: true });
  const dirs: WalkedNode[] = [];
  // Folders are created in walk order (parents first); file contents are written concurrently,
  // many small files at once (their writes are batched to the writer thread) but few large ones.
  const running = new Budget(RESTORE_FILES, RESTORE_BYTES);
  let interrupted: unknown;
  for await (const w of walkTree(repo, treeId, Buffer.alloc(0), o.signal)) {
    throwIfAborted(o.signal);
    if (interrupted) throw interrupted;
    const p = w.path.toString();
    if (!included(p, o.include)) continue;
    const dest = Buffer.concat([root, w.path]);
    const weight = Math.min(w.node.size ?? 0, SMALL_FILE * 4);
    if (w.node.type !== 'dir') await running.take(weight);
    const task = restoreNode(repo, dest, w, o, sum, dirs).catch((e) => {
      if (isHoardError(e, 'interrupted')) { interrupted ??= e; return; }
      const message = (e as Error).message;
      sum.errors.push({ path: p, message, kind: failureKind(e) });
      report({ type: 'restore.warning', path: p, message });
    });
    if (w.node.type === 'dir') await task;
    else void task.finally(() => running.give(weight));
  }
  await running.idle();
  if (interrupted) throw interrupted;
  for (const d of dirs.reverse()) await applyMeta(Buffer.concat([root, d.path]), d.node, o).catch(() => {});
  return sum;
}

async function restoreNode(repo: Repository, dest: Buffer, w: WalkedNode, o: Ctx, sum: RestoreSummary, dirs: WalkedNode[]): Promise<void> {
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
