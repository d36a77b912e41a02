/**
 * `hoard wal push`: PostgreSQL's archive_command (`hoard wal fetch` is fetch.ts).
 *
 * Push stores the WAL file PostgreSQL names, plus up to `batch - 1` other files the server has
 * already marked ready (pg_wal/archive_status/*.ready), as one snapshot of kind `wal`: each file at
 * the snapshot's root, so that `restic restore` gives back plain segment files. Its metadata lists
 * every file's size, SHA-256 and close time. A file already archived with the same bytes is a
 * success without storing anything (PostgreSQL retries a segment whose archiving it did not see
 * finish, and the batch has stored the next ones before it asks); with different bytes it is an
 * error (kind "verify", exit 5) and nothing is stored. The exit status is PostgreSQL's only signal:
 * 0 means the file is in the repository, durably, and the server may delete it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  type BackupOptions,
  HoardError,
  type LazyStreamInput,
  type Repository,
  backupStreams,
  listSnapshots,
} from '../../core/index.js';
import { walFileKind } from '../../databases/postgres/wal.js';
import { labelMetadata, labelTags } from '../database-backup.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { tidyLocks, withLock, withRepository } from '../repository-access.js';
import { type ArchivedFile, walCatalog } from './catalog.js';
import { pitrSource } from './source.js';

export interface PushResult {
  /** Files stored by this call (the one asked for first, when it was new). */
  stored: string[];
  /** The file asked for was archived before, with the same bytes. */
  already: boolean;
  snapshotId?: string;
  durationMs: number;
}

/** A WAL file name from a path PostgreSQL gave; kind "usage" for anything else. */
function walName(file: string): string {
  const name = path.basename(file);
  if (!walFileKind(name))
    throw new HoardError('usage', `${JSON.stringify(name)} is not a WAL file name`, {
      hint: "call it as archive_command = 'hoard wal push %p' (and restore_command = 'hoard wal fetch %f %p')",
    });
  return name;
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The other files PostgreSQL has marked ready next to `file` (pg_wal/archive_status), oldest name first. */
async function readyFiles(file: string, skip: (name: string) => boolean, max: number): Promise<string[]> {
  if (max <= 0) return [];
  const status = path.join(path.dirname(file), 'archive_status');
  const names = await fs.readdir(status).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.ready'))
    .map((n) => n.slice(0, -'.ready'.length))
    .filter((n) => walFileKind(n) !== undefined && !skip(n))
    .sort()
    .slice(0, max)
    .map((n) => path.join(path.dirname(file), n));
}

interface Pending {
  name: string;
  file: string;
  size: number;
  closedMs: number;
  hash?: string;
}

/** A regular file's size and mtime; kind "not-found" when it is missing or not a plain file. */
async function plainFile(file: string): Promise<{ size: number; mtimeMs: number }> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st?.isFile())
    throw new HoardError('not-found', `${file} is not a file`, {
      hint: 'archive_command passes %p, the path relative to the data directory',
    });
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Stores the WAL file at `file` (and ready ones after it) for `source`. */
export async function pushWal(
  env: Env,
  p: Project,
  req: { source?: string; file: string },
  o: BackupOptions,
): Promise<PushResult> {
  const started = env.clock.now();
  const src = pitrSource(p, req.source);
  const file = path.resolve(env.cwd, req.file);
  const name = walName(file);
  await plainFile(file);
  return withRepository(env, { project: p, signal: o.signal }, async (repo) => {
    // a push PostgreSQL's archiver timed out or an operator killed left its lock: restic's commands
    // would stop on it, and the archiver retries in seconds (removed: dead processes on this host only)
    await tidyLocks(env, repo);
    return withLock(env, repo, false, async () => {
      const catalog = walCatalog((await listSnapshots(repo, o.signal)).snapshots, src.name);
      const had = catalog.files.get(name);
      if (had) {
        await sameBytes(file, had);
        return { stored: [], already: true, durationMs: env.clock.now() - started };
      }
      const extra = await readyFiles(file, (n) => n === name || catalog.files.has(n), (src.pitr.batch ?? 8) - 1);
      const pending: Pending[] = [];
      for (const f of [file, ...extra]) {
        const st = await plainFile(f).catch(() => undefined);
        if (st) pending.push({ name: path.basename(f), file: f, size: st.size, closedMs: st.mtimeMs });
      }
      const r = await storeFiles(repo, src.name, pending, o);
      return {
        stored: pending.map((x) => x.name),
        already: false,
        snapshotId: r,
        durationMs: env.clock.now() - started,
      };
    });
  });
}

/** Succeeds when `file` holds the bytes archived as `had`; kind "verify" otherwise. */
async function sameBytes(file: string, had: ArchivedFile): Promise<void> {
  const hash = await sha256Of(file);
  if (hash === had.sha256) return;
  throw new HoardError(
    'verify',
    `WAL file ${had.name} is already archived (snapshot ${had.snapshotId.slice(0, 8)}) with different contents; nothing was stored`,
    {
      hint: 'two servers may archive into one source, or the server was restored without a new timeline: give each server its own source',
      context: { stored_sha256: had.sha256, offered_sha256: hash },
    },
  );
}

async function storeFiles(
  repo: Repository,
  source: string,
  pending: Pending[],
  o: BackupOptions,
): Promise<string | undefined> {
  const labels = { kind: 'wal', source };
  const inputs: LazyStreamInput[] = pending.map((f) => ({
    filename: f.name,
    async open() {
      const h = createHash('sha256');
      async function* hashed() {
        for await (const c of createReadStream(f.file)) {
          h.update(c as Buffer);
          yield c as Buffer;
        }
        f.hash = h.digest('hex');
      }
      return { stream: hashed() };
    },
  }));
  const info = { ...o.info, tags: [...(o.info.tags ?? []), ...labelTags(labels, ['engine:postgres'])] };
  const r = await backupStreams(repo, inputs, {
    ...o,
    info,
    finalize: (x) => ({
      ...labelMetadata(labels, 'postgres'),
      wal: {
        files: pending.map((f, i) => ({
          name: f.name,
          size: x.files[i]?.size ?? f.size,
          sha256: f.hash,
          closed_at: new Date(f.closedMs).toISOString(),
        })),
      },
      duration_ms: x.durationMs,
    }),
  });
  return r.snapshotId;
}
