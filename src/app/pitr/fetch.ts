/**
 * `hoard wal fetch NAME PATH`: PostgreSQL's restore_command. Writes one archived file to the path
 * the server gives, through a temporary file renamed into place only once its SHA-256 matches the
 * one recorded at push time. A file that is not archived exits 1 with one line (the server asks for
 * files that do not exist as part of normal recovery, and takes that as the archive's end).
 *
 * Recovery asks for segments one process at a time, and each hoard process opens the repository
 * (about half a second): so a fetch of a segment into pg_wal/ also writes the next PREFETCH
 * segments of its timeline, checked the same way, into `pg_wal/hoard-prefetch/` (which base backups
 * leave out), each named with its sha256, and a later fetch of one of them hashes it again and
 * renames it. The spool must be this user's own folder, mode 0700, or it is not used. Spooled files
 * older than the one asked for are removed, and a segment that is not archived empties the spool.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError, type Repository, type SnapshotEntry, findNode, listSnapshots } from '../../core/index.js';
import { parseSegment, segmentName, walFileKind } from '../../databases/postgres/wal.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { sequentialContent, withLock, withRepository } from '../repository-access.js';
import { type ArchivedFile, type WalCatalog, walCatalog } from './catalog.js';
import { pitrSource } from './source.js';

/** Segments written ahead of the one asked for. */
const PREFETCH = 8;
export const SPOOL = 'hoard-prefetch';

/** Writes the archived WAL file `name` of `source` to `dest`; kind "not-found" (exit 1) when it is not archived. */
export async function fetchWal(
  env: Env,
  p: Project,
  req: { source?: string; name: string; dest: string },
  o: { signal?: AbortSignal } = {},
): Promise<{ size: number; prefetched: boolean }> {
  const src = pitrSource(p, req.source);
  if (!walFileKind(req.name) || req.name.includes('/'))
    throw new HoardError('usage', `${req.name} is not a WAL file name`, {
      hint: "restore_command = 'hoard wal fetch %f %p'",
    });
  const dest = path.resolve(env.cwd, req.dest);
  const segment = walFileKind(req.name) === 'segment';
  const spool =
    segment && path.basename(path.dirname(dest)) === 'pg_wal' ? await ownSpool(path.dirname(dest)) : undefined;
  if (spool) {
    await dropOlder(spool, req.name);
    const size = await takeSpooled(spool, req.name, dest);
    if (size !== undefined) return { size, prefetched: true };
  }
  return withRepository(env, { project: p, signal: o.signal }, (repo) =>
    withLock(env, repo, false, async () => {
      const list = (await listSnapshots(repo, o.signal)).snapshots;
      const catalog = walCatalog(list, src.name);
      const f = catalog.files.get(req.name);
      if (!f) {
        if (spool) await dropOlder(spool, '~'); // every spooled segment sorts before '~'
        throw new HoardError('not-found', `WAL file ${req.name} is not archived for source ${src.name}`);
      }
      await writeChecked(repo, await nodeOf(repo, list, f), f, dest, o.signal);
      if (spool) await prefetch(repo, list, catalog, req.name, spool, o.signal).catch(() => {}); // best effort
      return { size: f.size, prefetched: false };
    }),
  );
}

/** The file node of an archived file; kind "corrupt" when its snapshot does not hold it. */
async function nodeOf(repo: Repository, list: SnapshotEntry[], f: ArchivedFile) {
  const snap = list.find((e) => e.id === f.snapshotId)!;
  const node = await findNode(repo, snap.snapshot.tree, `/${f.name}`);
  if (node?.type !== 'file')
    throw new HoardError('corrupt', `snapshot ${f.snapshotId.slice(0, 8)} lists ${f.name} but does not hold it`, {
      hint: 'run `hoard check`',
    });
  return node;
}

/** Writes the segments after `name` on its timeline that are archived into the spool (best effort). */
async function prefetch(
  repo: Repository,
  list: SnapshotEntry[],
  catalog: WalCatalog,
  name: string,
  spool: string,
  signal?: AbortSignal,
): Promise<void> {
  const size = catalog.files.get(name)!.size; // a segment's size is the segment size
  if (size < 1 << 20 || size > 1 << 30 || (size & (size - 1)) !== 0) return;
  const id = parseSegment(name, size);
  if (!id) return;
  for (let n = id.segno + 1n; n <= id.segno + BigInt(PREFETCH); n++) {
    const next = catalog.files.get(segmentName({ timeline: id.timeline, segno: n }, size));
    if (!next) return;
    const to = path.join(spool, `${next.name}.${next.sha256}`);
    if (await fs.lstat(to).catch(() => undefined)) continue;
    try {
      await writeChecked(repo, await nodeOf(repo, list, next), next, to, signal);
    } catch {
      return; // the fetch of that segment itself will say what is wrong
    }
  }
}

const SPOOLED = /^([0-9A-F]{24})\.([0-9a-f]{64})$/;

/** The spool folder in `walDir`, made if missing; undefined unless it is this user's own, mode 0700. */
async function ownSpool(walDir: string): Promise<string | undefined> {
  const dir = path.join(walDir, SPOOL);
  await fs.mkdir(dir, { mode: 0o700 }).catch(() => {});
  const st = await fs.lstat(dir).catch(() => undefined);
  const uid = process.getuid?.();
  return st?.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o077) === 0 ? dir : undefined;
}

/** Moves a spooled file to `dest` once its bytes hash to the sha256 in its name; its size, or undefined. */
async function takeSpooled(spool: string, name: string, dest: string): Promise<number | undefined> {
  for (const e of await fs.readdir(spool)) {
    const m = SPOOLED.exec(e);
    if (m?.[1] !== name) continue;
    const from = path.join(spool, e);
    const st = await fs.lstat(from);
    const h = createHash('sha256');
    if (st.isFile()) h.update(await fs.readFile(from));
    if (!st.isFile() || h.digest('hex') !== m[2]) {
      await fs.rm(from, { force: true });
      return undefined;
    }
    await fs.rename(from, dest);
    return st.size;
  }
  return undefined;
}

/** Removes spooled segments that sort before `name` (recovery has passed them); nothing else in the folder. */
async function dropOlder(spool: string, name: string): Promise<void> {
  for (const e of await fs.readdir(spool).catch(() => [] as string[]))
    if (SPOOLED.test(e) && e < name) await fs.rm(path.join(spool, e), { force: true });
}

/** The file's content into `dest` via a temporary name; kind "corrupt" when its hash is not the recorded one. */
export async function writeChecked(
  repo: Repository,
  node: Parameters<typeof sequentialContent>[1],
  f: ArchivedFile,
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  const tmp = `${dest}.hoard-${process.pid}.tmp`;
  const h = createHash('sha256');
  const out = await fs.open(tmp, 'wx', 0o600);
  try {
    for await (const c of sequentialContent(repo, node, signal)) {
      h.update(c);
      await out.write(c);
    }
    await out.sync();
  } catch (e) {
    await out.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await out.close();
  if (h.digest('hex') !== f.sha256) {
    await fs.rm(tmp, { force: true });
    throw new HoardError('corrupt', `WAL file ${f.name} restored with other bytes than were archived`, {
      hint: 'the repository was changed after archiving: run `hoard check --read-data`',
    });
  }
  await fs.rename(tmp, dest);
}
