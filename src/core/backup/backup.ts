/**
 * The backup verb: files or one stream → blobs → trees → snapshot, in restic's write order
 * (packs, index, snapshot). A failure leaves no snapshot; packs that completed are indexed so a
 * retry reuses them.
 */
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { HoardError } from '../errors.js';
import type { Clock } from '../clock.js';
import { type Reporter, silent } from '../events.js';
import { formatGoTime, goTimeFromMs } from '../format/time.js';
import type { Snapshot } from '../format/snapshot.js';
import type { TreeNode } from '../format/tree.js';
import type { Repository, WriteStats } from '../repository/repository.js';
import { type SnapshotEntry, filterSnapshots, saveSnapshot } from '../repository/snapshots.js';
import { BlobSaver, saveContent } from './blob-saver.js';
import { compileExcludes } from './exclude.js';
import { type FileBackupStats, type FileWalkContext, backupPath, loadParent, names, saveTree } from './file-tree.js';
import { nodeFromStat } from '../sources/node-from-stat.js';

export interface SnapshotInfo {
  hostname: string;
  username: string;
  uid: number;
  gid: number;
  tags?: string[];
  programVersion: string;
  /** hoard's metadata object (kind, label, …); stored as snapshot.hoard. */
  hoard?: Record<string, unknown>;
}

export interface BackupOptions {
  clock: Clock;
  info: SnapshotInfo;
  signal?: AbortSignal;
  report?: Reporter;
  /** Do everything but write the snapshot; blobs are not stored either (the repository is untouched). */
  dryRun?: boolean;
  /** Explicit parent snapshot; default: latest with the same host and paths. */
  parent?: SnapshotEntry;
  history?: SnapshotEntry[];
  /** Store access times in the tree (restic's --with-atime); by default a node's atime is its mtime. */
  withAtime?: boolean;
  /** Adds hoard metadata that depends on the outcome (sizes, duration), just before the snapshot is saved. */
  finalize?: (r: StreamsOutcome) => Record<string, unknown>;
}

export interface BackupSummary {
  snapshotId?: string;
  snapshot: Snapshot;
  stats: FileBackupStats & { data_blobs: number; tree_blobs: number; data_added: number; data_added_packed: number };
  durationMs: number;
}

function emptyStats(): FileBackupStats {
  return {
    files_new: 0,
    files_changed: 0,
    files_unmodified: 0,
    dirs_new: 0,
    dirs_changed: 0,
    dirs_unmodified: 0,
    total_files_processed: 0,
    total_bytes_processed: 0,
    errors: [],
  };
}

interface VDir {
  children: Map<string, VDir | Buffer>;
  path: Buffer;
}

/** Restic's root tree shape: path components of each target (relative targets from their first component). */
function buildVirtualRoot(targets: string[], cwd: string): { root: VDir; abs: string[] } {
  const root: VDir = { children: new Map(), path: Buffer.from('/') };
  const abs: string[] = [];
  for (const t of targets) {
    const full = nodePath.resolve(cwd, t);
    abs.push(full);
    const rel = nodePath.isAbsolute(t)
      ? full.slice(1)
      : nodePath
          .normalize(t)
          .replace(/^(\.\.\/)+/, '')
          .replace(/\/$/, '');
    const comps = rel.split('/').filter((c) => c !== '' && c !== '.');
    const base = full.slice(0, full.length - comps.join('/').length) || '/';
    let d = root;
    let p = base.replace(/\/$/, '');
    comps.forEach((c, i) => {
      p = `${p}/${c}`;
      if (i === comps.length - 1) {
        d.children.set(c, Buffer.from(p));
        return;
      }
      let next = d.children.get(c);
      if (!next || Buffer.isBuffer(next)) {
        next = { children: new Map(), path: Buffer.from(p) };
        d.children.set(c, next);
      }
      d = next;
    });
  }
  return { root, abs };
}

async function backupVDir(ctx: FileWalkContext, d: VDir, parentTree?: string): Promise<string> {
  const prev = await loadParent(ctx.repo, parentTree);
  const nodes: TreeNode[] = [];
  for (const [name, child] of d.children) {
    const path = Buffer.isBuffer(child) ? child : child.path;
    const st = await fsp.lstat(path, { bigint: true });
    if (Buffer.isBuffer(child)) {
      const n = await backupPath(ctx, child, Buffer.from(name), st, prev.get(Buffer.from(name).toString('latin1')));
      if (n) nodes.push(n);
    } else {
      const n = nodeFromStat(Buffer.from(name), 'dir', st, names, ctx.withAtime);
      n.subtree = await backupVDir(ctx, child, prev.get(Buffer.from(name).toString('latin1'))?.subtree);
      nodes.push(n);
    }
  }
  return saveTree(ctx, nodes);
}

/** Default parent: the latest snapshot with the same host and exactly the same paths. */
export function pickParent(history: SnapshotEntry[], host: string, paths: string[]): SnapshotEntry | undefined {
  const want = [...paths].sort().join('\0');
  const m = filterSnapshots(history, { host }).filter((s) => [...(s.snapshot.paths ?? [])].sort().join('\0') === want);
  return m[m.length - 1];
}

/** When a backup started, and the repository's write counters then. */
interface Start {
  ms: number;
  stats: WriteStats;
}

async function finish(
  repo: Repository,
  saver: BlobSaver,
  tree: string,
  paths: string[],
  stats: FileBackupStats,
  o: BackupOptions,
  start: Start,
  parent?: string,
  excludes?: string[],
  files?: StreamsOutcome['files'],
): Promise<BackupSummary> {
  await saver.drain();
  await repo.flush();
  const end = o.clock.now();
  const started = start.ms;
  const b = start.stats;
  const extra = o.finalize?.({
    files: files ?? paths.map((name) => ({ name, size: stats.total_bytes_processed })),
    durationMs: end - started,
  });
  const hoard = extra ? { ...o.info.hoard, ...extra } : o.info.hoard;
  const r = repo.stats; // this backup's share: the repository may have served others since it was opened
  const all = {
    ...stats,
    data_blobs: r.dataBlobs - b.dataBlobs,
    tree_blobs: r.treeBlobs - b.treeBlobs,
    data_added: r.bytesAdded - b.bytesAdded,
    data_added_packed: r.bytesStored - b.bytesStored,
  };
  const { errors: _e, ...counted } = all;
  const snapshot: Snapshot = {
    time: formatGoTime(goTimeFromMs(started)),
    tree,
    paths,
    hostname: o.info.hostname,
    username: o.info.username,
    uid: o.info.uid,
    gid: o.info.gid,
    tags: o.info.tags,
    excludes,
    program_version: o.info.programVersion,
    summary: {
      backup_start: formatGoTime(goTimeFromMs(started)),
      backup_end: formatGoTime(goTimeFromMs(end)),
      ...counted,
    },
    ...(parent ? { parent } : {}),
    ...(hoard ? { hoard } : {}),
  };
  const snapshotId = o.dryRun ? undefined : await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot, stats: all, durationMs: end - started };
}

/** Runs `work` as one writing session (a dry run's when asked); on failure indexes completed packs (data stays reusable) and rethrows. */
async function guarded<T>(
  repo: Repository,
  saver: BlobSaver,
  dryRun: boolean | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return repo.writing({ dryRun }, async () => {
    try {
      return await work();
    } catch (e) {
      await saver.drain().catch(() => {});
      await repo.abandon();
      throw e;
    }
  });
}

/**
 * Backs up files and folders. Missing targets fail before anything is written (kind "usage").
 * Unreadable entries are skipped and listed in stats.errors (the caller reports "partial").
 * `recordPaths` replaces the absolute paths recorded in the snapshot (and used to find the parent).
 */
export async function backupFiles(
  repo: Repository,
  targets: string[],
  o: BackupOptions & { cwd: string; excludes?: string[]; recordPaths?: string[] },
): Promise<BackupSummary> {
  if (targets.length === 0) throw new HoardError('usage', 'nothing to back up', { hint: 'give one or more paths' });
  for (const t of targets) {
    try {
      await fsp.lstat(nodePath.resolve(o.cwd, t));
    } catch {
      throw new HoardError('usage', `path ${t} does not exist`, { hint: 'check the path; nothing was backed up' });
    }
  }
  const started = o.clock.now();
  const base = { ...repo.stats };
  const { root, abs: real } = buildVirtualRoot(targets, o.cwd);
  const abs = o.recordPaths ?? real; // a dump folder in a temp dir is recorded as /name.dir
  const parent = o.parent ?? pickParent(o.history ?? [], o.info.hostname, abs);
  if (parent) repo.enableReadAhead(); // the parent's trees sit together in tree packs
  const saver = new BlobSaver(repo);
  const stats = emptyStats();
  const ctx: FileWalkContext = {
    repo,
    saver,
    exclude: compileExcludes(o.excludes ?? []),
    report: o.report ?? silent,
    signal: o.signal,
    stats,
    withAtime: o.withAtime,
  };
  return guarded(repo, saver, o.dryRun, async () => {
    const tree = await backupVDir(ctx, root, parent?.snapshot.tree);
    return finish(
      repo,
      saver,
      tree,
      abs,
      stats,
      o,
      { ms: started, stats: base },
      parent?.id,
      ctx.exclude.patterns.length ? ctx.exclude.patterns : undefined,
    );
  });
}

/** A stream to back up as one file; `done` settles when the producer has finished (rejects on failure). */
export interface StreamInput {
  stream: AsyncIterable<Buffer | Uint8Array>;
  filename: string;
  done?: Promise<void>;
}

/** A stream that is started only when its turn comes (several dumps of one server, one after another). */
export interface LazyStreamInput {
  filename: string;
  open(): Promise<Omit<StreamInput, 'filename'>>;
}

/** What a finished multi-stream backup knows, for metadata that needs sizes and timing. */
export interface StreamsOutcome {
  files: { name: string; size: number }[];
  durationMs: number;
}

/**
 * Backs up one stream as a single file at the root (restic --stdin). If `done` rejects (the
 * producing command failed), no snapshot is written and the error is rethrown.
 */
export async function backupStream(repo: Repository, input: StreamInput, o: BackupOptions): Promise<BackupSummary> {
  const { filename, ...rest } = input;
  return backupStreams(repo, [{ filename, open: async () => rest }], o);
}

/**
 * Backs up several streams, one after another, as files at the root of one snapshot. Any stream's
 * failure leaves no snapshot.
 */
export async function backupStreams(
  repo: Repository,
  inputs: LazyStreamInput[],
  o: BackupOptions,
): Promise<BackupSummary> {
  const names = inputs.map((i) => i.filename.replace(/^\/+/, ''));
  for (const [i, name] of names.entries()) {
    if (name === '' || name.includes('/'))
      throw new HoardError('usage', `invalid stream file name ${JSON.stringify(inputs[i].filename)}`, {
        hint: 'use a plain name such as dump.sql',
      });
  }
  if (new Set(names).size !== names.length)
    throw new HoardError('usage', `duplicate stream file names: ${names.join(', ')}`);
  const started = o.clock.now();
  const base = { ...repo.stats };
  const saver = new BlobSaver(repo);
  const stats = emptyStats();
  return guarded(repo, saver, o.dryRun, async () => {
    const nodes: TreeNode[] = [];
    const t = formatGoTime(goTimeFromMs(started));
    for (const [i, input] of inputs.entries()) {
      const name = names[i];
      const opened = await input.open();
      const saved = await saveContent(opened.stream, repo.config.chunkerPolynomial, saver, o.signal, (n) => {
        stats.total_bytes_processed += n;
        o.report?.({
          type: 'backup.progress',
          files: i,
          dirs: 0,
          bytes: stats.total_bytes_processed,
          bytesAdded: repo.stats.bytesAdded,
          current: name,
        });
      });
      await opened.done;
      nodes.push({
        name: Buffer.from(name),
        type: 'file',
        mode: 0o644,
        mtime: t,
        atime: t,
        ctime: t,
        uid: o.info.uid,
        gid: o.info.gid,
        size: saved.size,
        content: saved.content,
      });
      stats.files_new += 1;
      stats.total_files_processed += 1;
    }
    nodes.sort((a, b) => Buffer.compare(a.name, b.name));
    const tree = await saveTree({ saver }, nodes);
    const files = nodes.map((n) => ({ name: n.name.toString(), size: n.size ?? 0 }));
    return finish(
      repo,
      saver,
      tree,
      names.map((n) => `/${n}`),
      stats,
      o,
      { ms: started, stats: base },
      undefined,
      undefined,
      files,
    );
  });
}
