/**
 * Verification of point-in-time snapshots, beside the data checks every snapshot gets:
 * - a base backup, at every level: `wal-continuity`, its timeline's archived WAL has no gap from
 *   the base's first segment to the newest one, and reaches the segment its backup ended in
 *   (metadata only);
 * - a WAL snapshot at read-back and drill: `wal-hash`, each file's bytes, read back from the
 *   packs, hash to the sha256 recorded when it was pushed;
 * - a base backup at drill: `pitr-drill`, a real point-in-time restore of this base backup to the
 *   newest archived time into a scratch folder, started on a free 127.0.0.1 port; the server must
 *   finish recovery, be promoted and hold database folders; it is stopped and the folder removed
 *   afterwards. hoard never logs in to it: its roles and access rules came from the repository.
 * A failed check is a result, never a throw.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type Repository,
  type SnapshotEntry,
  type VerificationCheck,
  findNode,
  isHoardError,
} from '../../core/index.js';
import { freePort, serverBinDir, serverUser, stopServer } from '../../databases/postgres/cluster.js';
import { segmentName } from '../../databases/postgres/wal.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { sequentialContent } from '../repository-access.js';
import { type BaseBackup, type WalCatalog, firstGap, segmentsByTimeline, walCatalog, walFiles } from './catalog.js';
import { restorePointInTime } from './restore.js';

const sourceOf = (s: SnapshotEntry) => (s.snapshot.hoard?.source as { name?: unknown } | undefined)?.name;

/** True for the snapshots of point-in-time recovery (kind base or wal). */
export function isPitrSnapshot(s: SnapshotEntry): boolean {
  const kind = s.snapshot.hoard?.kind;
  return (kind === 'base' || kind === 'wal') && typeof sourceOf(s) === 'string';
}

/** The newest segment number archived on the base's timeline from its first one, or undefined. */
function newestFrom(c: WalCatalog, b: BaseBackup): { segno: bigint; closedMs: number } | undefined {
  const mine = segmentsByTimeline(c, b.segSize).get(b.timeline);
  const from = b.startLsn / BigInt(b.segSize);
  let best: { segno: bigint; closedMs: number } | undefined;
  for (const [n, f] of mine ?? [])
    if (n >= from && (!best || n > best.segno)) best = { segno: n, closedMs: f.closedMs };
  return best;
}

/** `wal-continuity` of a base backup. */
export function continuity(c: WalCatalog, b: BaseBackup): VerificationCheck {
  const name = 'wal-continuity';
  const seg = (n: bigint) => segmentName({ timeline: b.timeline, segno: n }, b.segSize);
  const from = b.startLsn / BigInt(b.segSize);
  const end = b.endLsn / BigInt(b.segSize);
  const newest = newestFrom(c, b);
  if (!newest || newest.segno < end)
    return {
      name,
      ok: false,
      message: `WAL up to ${seg(end)}, where the base backup ended, is not archived: it cannot be restored`,
    };
  const gap = firstGap(
    segmentsByTimeline(c, b.segSize).get(b.timeline),
    { timeline: b.timeline, segno: from },
    newest.segno,
  );
  if (gap !== undefined)
    return { name, ok: false, message: `WAL segment ${seg(gap)} is missing: restores stop before it` };
  return {
    name,
    ok: true,
    message: `${newest.segno - from + 1n} WAL segment(s) from ${seg(from)} to ${seg(newest.segno)}, no gap`,
  };
}

/** `wal-hash`: every file of a WAL snapshot read back and hashed against its recorded sha256. */
async function walHashes(repo: Repository, s: SnapshotEntry, signal?: AbortSignal): Promise<VerificationCheck> {
  const files = walFiles(s.snapshot.hoard?.wal);
  const bad: string[] = [];
  for (const f of files) {
    const node = await findNode(repo, s.snapshot.tree, `/${f.name}`);
    if (node?.type !== 'file') {
      bad.push(`${f.name} (not in the snapshot)`);
      continue;
    }
    const h = createHash('sha256');
    try {
      for await (const chunk of sequentialContent(repo, node, signal)) h.update(chunk);
    } catch (e) {
      bad.push(`${f.name} (${isHoardError(e) ? e.message : (e as Error).message})`);
      continue;
    }
    if (h.digest('hex') !== f.sha256) bad.push(`${f.name} (other bytes than were archived)`);
  }
  if (!files.length) return { name: 'wal-hash', ok: false, message: 'the snapshot lists no well-formed WAL file' };
  return bad.length
    ? {
        name: 'wal-hash',
        ok: false,
        message: `${bad.length} WAL file(s) do not read back: ${bad.slice(0, 3).join(', ')}`,
      }
    : { name: 'wal-hash', ok: true, message: `${files.length} WAL file(s) read back with their recorded sha256` };
}

/** `pitr-drill`: this base backup restored to the newest archived time, started, queried, stopped, removed. */
async function drill(env: Env, p: Project, c: WalCatalog, b: BaseBackup, source: string): Promise<VerificationCheck> {
  const name = 'pitr-drill';
  const newest = newestFrom(c, b);
  if (!newest) return { name, ok: false, message: 'no WAL archived after the base backup to drill with' };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoard-pitr-drill-'));
  const started = env.clock.now();
  const binDir = serverBinDir(Number.parseInt(b.serverVersion, 10), env.vars);
  try {
    const port = await freePort();
    const atMs = Math.max(newest.closedMs, b.consistentMs);
    const r = await restorePointInTime(env, p, { source, atMs, target: dir, port, baseSnapshot: b.snapshotId });
    // no login to the restored server (its roles came from the repository): its databases are its base/ folders
    const dbs = (await fs.readdir(path.join(dir, 'base'))).filter((n) => /^\d+$/.test(n)).length;
    const secs = ((env.clock.now() - started) / 1000).toFixed(1);
    return {
      name,
      ok: r.started && dbs > 0,
      message: `restored to ${r.at} in ${secs} s, started and promoted (recovery reached ${r.reached ?? 'the base backup'}); ${dbs} database folder(s)`,
    };
  } catch (e) {
    return {
      name,
      ok: false,
      message: `the point-in-time restore failed: ${isHoardError(e) ? e.message : (e as Error).message}`,
    };
  } finally {
    await stopServer(binDir, dir, await serverUser(os.tmpdir()).catch(() => undefined));
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The point-in-time checks of `s` at `level` (none for other snapshots). */
export async function pitrChecks(
  env: Env | undefined,
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  list: SnapshotEntry[],
  level: 'quick' | 'read-back' | 'drill',
  signal?: AbortSignal,
): Promise<VerificationCheck[]> {
  if (!isPitrSnapshot(s)) return [];
  const source = sourceOf(s) as string;
  if (s.snapshot.hoard?.kind === 'wal') return level === 'quick' ? [] : [await walHashes(repo, s, signal)];
  const c = walCatalog(list, source);
  const b = c.bases.find((x) => x.snapshotId === s.id);
  if (!b) return [{ name: 'wal-continuity', ok: false, message: 'the base backup has no well-formed metadata' }];
  const out = [continuity(c, b)];
  if (level === 'drill' && out[0].ok) {
    if (!env || !p.config.sources?.[source])
      out.push({
        name: 'pitr-drill',
        ok: false,
        message: `drills need source ${source} in hoard.yaml (its connection)`,
      });
    else out.push(await drill(env, p, c, b, source));
  }
  return out;
}
