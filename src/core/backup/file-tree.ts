/**
 * Backs up local file trees: walks targets, reuses unchanged files from the parent snapshot
 * (same size, mtime, ctime and inode: nothing reread), chunks the rest, and writes tree blobs
 * bottom-up. Paths are handled as bytes so names that are not UTF-8 survive.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { Budget } from '../budget.js';
import { throwIfAborted } from '../errors.js';
import type { Reporter } from '../events.js';
import { type TreeNode, decodeTree, encodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { createNameLookup, nodeFromStat, nodeTypeOf } from '../sources/node-from-stat.js';
import { type BlobSaver, type SavedContent, saveContent } from './blob-saver.js';
import { readAhead } from '../sources/read-ahead.js';
import type { ExcludeMatcher } from './exclude.js';

/** Counters of one file backup (restic's summary fields). */
export interface FileBackupStats {
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs_new: number;
  dirs_changed: number;
  dirs_unmodified: number;
  total_files_processed: number;
  total_bytes_processed: number;
  errors: { path: string; message: string }[];
}

export interface FileWalkContext {
  repo: Repository;
  saver: BlobSaver;
  exclude: ExcludeMatcher;
  report: Reporter;
  signal?: AbortSignal;
  stats: FileBackupStats;
  /** Store access times (restic's --with-atime); by default a node's atime is its mtime. */
  withAtime?: boolean;
}

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer): Buffer =>
  dir.length === 1 && dir[0] === 0x2f ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name]);
/** uid/gid → name lookups, shared by the whole walk. */
export const names = createNameLookup();
const MIN_CHUNK = 512 * 1024;

/** O_NOATIME where the platform has it (Linux): reading for a backup should not change what it reads. */
const NOATIME = fs.constants.O_NOATIME ?? 0;

/**
 * Opens a file to back it up, read-only and without touching its access time. The kernel allows
 * O_NOATIME only to the file's owner (or CAP_FOWNER); other files are opened plainly (EPERM).
 */
export function openForBackup(path: Buffer): number {
  if (NOATIME) {
    try {
      return fs.openSync(path, fs.constants.O_RDONLY | NOATIME);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }
  return fs.openSync(path, fs.constants.O_RDONLY);
}

/**
 * Reads a small file with synchronous open, read and close: for files under 512 KiB a thread-pool
 * hop per call costs more than the calls. A file that grew meanwhile is read to its end.
 */
function readSmall(path: Buffer, size: number): Buffer {
  const fd = openForBackup(path);
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafeSlow(total === 0 ? size + 1 : 64 * 1024); // exact first read: the blob owns its memory
      const n = fs.readSync(fd, buf, 0, buf.length, total);
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
      if (total <= size && n < buf.length) break;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a large file in reused 1 MiB blocks (read-ahead.ts) and chunks it; the descriptor is
 * closed once no read of it is running, whatever happened.
 */
async function saveLarge(ctx: FileWalkContext, path: Buffer): Promise<SavedContent> {
  const fd = openForBackup(path);
  try {
    return await saveContent(readAhead(fd), ctx.repo.config.chunkerPolynomial, ctx.saver, ctx.signal);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Files being backed up at once, across every walk in the process. The walk takes a slot before it starts a
 * file, so what it holds stays bounded by this and the depth of the tree, whatever the file count.
 */
const fileSlots = new Budget(8);

/** The parent snapshot's nodes of one folder, keyed by raw name (latin1); empty when absent or unreadable. */
export async function loadParent(repo: Repository, id: string | undefined): Promise<Map<string, TreeNode>> {
  const m = new Map<string, TreeNode>();
  if (!id) return m;
  try {
    for (const n of decodeTree(await repo.loadBlob('tree', id))) m.set(n.name.toString('latin1'), n);
  } catch {
    /* an unreadable parent only costs rereading */
  }
  return m;
}

/**
 * True when the parent's node can stand for the file: same size, mtime, ctime and inode, and every
 * blob still indexed. An empty file's node has no size field and null or empty content.
 */
function unchanged(prev: TreeNode | undefined, st: BigIntStats, fresh: TreeNode, repo: Repository): boolean {
  return (
    !!prev &&
    prev.type === 'file' &&
    (prev.size ?? 0) === Number(st.size) &&
    (prev.content !== null || st.size === 0n) &&
    prev.mtime === fresh.mtime &&
    prev.ctime === fresh.ctime &&
    BigInt(prev.inode ?? 0) === st.ino &&
    (prev.content ?? []).every((id) => repo.index.has('data', id))
  );
}

/** Counts a finished file and reports progress (the reporter throttles). */
function progress(ctx: FileWalkContext, path: Buffer, size: number): void {
  const s = ctx.stats;
  s.total_files_processed++;
  s.total_bytes_processed += size;
  ctx.report({
    type: 'backup.progress',
    files: s.total_files_processed,
    dirs: s.dirs_new + s.dirs_changed + s.dirs_unmodified,
    bytes: s.total_bytes_processed,
    bytesAdded: ctx.repo.stats.bytesAdded,
    current: path.toString(),
  });
}

function warn(ctx: FileWalkContext, path: Buffer, e: unknown): void {
  const message = (e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message;
  ctx.stats.errors.push({ path: path.toString(), message });
  ctx.report({ type: 'backup.warning', path: path.toString(), message });
}

/**
 * Builds the node for one path (which the caller lstat'ed), recursing into folders.
 * Returns undefined for skipped entries (sockets, unreadable files).
 */
export async function backupPath(
  ctx: FileWalkContext,
  path: Buffer,
  name: Buffer,
  st: BigIntStats,
  prev: TreeNode | undefined,
): Promise<TreeNode | undefined> {
  throwIfAborted(ctx.signal);
  const type = nodeTypeOf(Number(st.mode));
  if (!type) return undefined;
  const node = nodeFromStat(name, type, st, names, ctx.withAtime);
  if (type === 'dir') {
    const subtree = await backupDir(ctx, path, prev?.type === 'dir' ? prev.subtree : undefined);
    if (subtree === undefined) return undefined;
    node.subtree = subtree;
    if (!prev) ctx.stats.dirs_new++;
    else if (prev.subtree === subtree) ctx.stats.dirs_unmodified++;
    else ctx.stats.dirs_changed++;
    return node;
  }
  if (type === 'symlink') {
    const target = await fsp.readlink(path, { encoding: 'buffer' });
    node.linktarget = target.toString('utf8');
    if (!Buffer.from(node.linktarget, 'utf8').equals(target)) node.linktarget_raw = target;
    return node;
  }
  if (type !== 'file') return node;
  if (unchanged(prev, st, node, ctx.repo)) {
    node.content = prev!.content;
    ctx.stats.files_unmodified++;
    progress(ctx, path, node.size ?? 0);
    return node;
  }
  let saved: { content: string[]; size: number };
  try {
    if (st.size < MIN_CHUNK) {
      const data = readSmall(path, Number(st.size));
      saved = { content: data.length ? [await ctx.saver.save('data', data)] : [], size: data.length };
    } else {
      saved = await saveLarge(ctx, path);
    }
    node.content = saved.content;
    node.size = saved.size;
  } catch (e) {
    if ((e as { kind?: string }).kind) throw e; // repository failures end the backup
    warn(ctx, path, e);
    return undefined;
  }
  if (prev?.type === 'file') ctx.stats.files_changed++;
  else ctx.stats.files_new++;
  progress(ctx, path, saved.size);
  return node;
}

/** Backs up a folder's entries; returns the tree id, or undefined when the folder is unreadable. */
export async function backupDir(
  ctx: FileWalkContext,
  dir: Buffer,
  parentTree: string | undefined,
): Promise<string | undefined> {
  let entries: Buffer[];
  try {
    entries = fs.readdirSync(dir, { encoding: 'buffer' });
  } catch (e) {
    warn(ctx, dir, e);
    return undefined;
  }
  const parent = await loadParent(ctx.repo, parentTree);
  // Depth first: subfolders one at a time, files up to 8 at once (the slot is taken before
  // the file starts, so a folder of a million files never has a million pending nodes).
  const nodes: Promise<TreeNode | undefined>[] = [];
  for (const name of entries) {
    const path = join(dir, name);
    if (ctx.exclude.matches(path.toString())) continue;
    let st: BigIntStats;
    try {
      st = fs.lstatSync(path, { bigint: true });
    } catch (e) {
      warn(ctx, path, e);
      continue;
    }
    const prev = parent.get(name.toString('latin1'));
    if (nodeTypeOf(Number(st.mode)) === 'dir') {
      nodes.push(Promise.resolve(await backupPath(ctx, path, name, st, prev)));
      continue;
    }
    await fileSlots.take();
    const p = backupPath(ctx, path, name, st, prev).finally(() => fileSlots.give());
    p.catch(() => {}); // observed by Promise.all below
    nodes.push(p);
  }
  const done = await Promise.all(nodes);
  return saveTree(
    ctx,
    done.filter((n): n is TreeNode => n !== undefined),
  );
}

/** Encodes and schedules a tree blob; returns its id. */
export async function saveTree(ctx: Pick<FileWalkContext, 'saver'>, nodes: TreeNode[]): Promise<string> {
  return ctx.saver.save('tree', encodeTree(nodes));
}
