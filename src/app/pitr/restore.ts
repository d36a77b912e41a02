/**
 * `hoard restore --source PG --at TIME --target DIR [--start PORT]` for a point-in-time source:
 * choose the newest base backup a restore to TIME can start from, check that the archive holds
 * every WAL segment from it to TIME on one timeline, unpack the base backup into an empty DIR,
 * and configure recovery (restore_command = hoard wal fetch, recovery_target_time, the timeline,
 * promote at the target). With `port`, start the server there (archiving off, 127.0.0.1 only),
 * wait until recovery has stopped and say which commit time it reached; the server is left
 * running unless `stopAfter`. Nothing is written before every check has passed; DIR must be
 * missing or empty. Hostile tars: only plain files and folders are unpacked, inside DIR.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { HoardError, type Repository, findNode, listSnapshots } from '../../core/index.js';
import {
  chownTree,
  clusterState,
  serverBinDir,
  serverUser,
  startServer,
  stopServer,
} from '../../databases/postgres/cluster.js';
import { segmentName } from '../../databases/postgres/wal.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { sequentialContent, withLock, withRepository } from '../repository-access.js';
import { type BaseBackup, type WalCatalog, firstGap, segmentsByTimeline, walCatalog } from './catalog.js';
import { pitrSource } from './source.js';
import {
  describe,
  neutralize,
  recoverySettings,
  restoreCommand,
  serverEnv,
  serverOverrides,
  targetOf,
  withoutTargetTime,
  writeAccessFiles,
} from './recovery-config.js';
import { SPOOL } from './fetch.js';

export interface PitrRestoreRequest {
  source?: string;
  /**
   * The target time, epoch ms. With `xid` or `restorePoint` it only chooses the base backup (the
   * newest one before it); without it those start from the oldest base backup.
   */
  atMs?: number;
  /** Stop after this transaction id committed (recovery_target_xid). */
  xid?: string;
  /** Stop at this restore point (pg_create_restore_point, `hoard wal mark`: recovery_target_name). */
  restorePoint?: string;
  target: string;
  timeline?: number;
  /** Start the restored server on this port and wait for the end of recovery. */
  port?: number;
  stopAfter?: boolean;
  /** Start from this base backup (a drill of it) instead of the newest one before the time. */
  baseSnapshot?: string;
}

export interface PitrPlan {
  base: BaseBackup;
  timeline: number;
  /** Segments from the base's first through the one holding the target. */
  segments: string[];
  newestArchivedMs: number;
}

export interface PitrRestoreResult {
  source: string;
  target: string;
  at: string;
  base_snapshot: string;
  timeline: number;
  segments: number;
  started: boolean;
  port: number | null;
  /** The commit time recovery stopped at (the last transaction it replayed), when started. */
  reached: string | null;
  /**
   * True when no archived transaction commits after the target, so recovery ran to the archive's
   * end (the state at the target); PostgreSQL stops with "recovery ended before configured
   * recovery target was reached" otherwise.
   */
  end_of_archive: boolean;
  log: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The restore plan for a time; kind "usage" (exit 1) for a time outside the archive, "verify" (exit 5) for a gap. */
export function planPitr(c: WalCatalog, atMs: number, timeline?: number, baseSnapshot?: string): PitrPlan {
  if (!c.bases.length)
    throw new HoardError('usage', 'there is no base backup to start from', { hint: 'take one: hoard wal base' });
  const usable = c.bases.filter(
    (b) =>
      b.consistentMs <= atMs &&
      (timeline === undefined || b.timeline <= timeline) &&
      (baseSnapshot === undefined || b.snapshotId === baseSnapshot),
  );
  if (!usable.length)
    throw new HoardError(
      'usage',
      `${iso(atMs)} is before the oldest base backup can reach (${iso(c.bases[0].consistentMs)})`,
      {
        hint: `choose a time at or after ${iso(c.bases[0].consistentMs)}, or restore an older logical backup`,
      },
    );
  const base = usable[usable.length - 1];
  const segSize = base.segSize;
  const byTl = segmentsByTimeline(c, segSize);
  const fromNo = base.startLsn / BigInt(segSize);
  const tls = [...byTl.keys()].filter((t) => t !== base.timeline && [...byTl.get(t)!.keys()].some((n) => n >= fromNo));
  if (timeline === undefined && tls.length)
    throw new HoardError(
      'usage',
      `the WAL forked after this base backup: timelines ${[base.timeline, ...tls].sort().join(', ')}`,
      {
        hint: 'choose the history to follow with --timeline N (hoard wal status lists them)',
      },
    );
  const tl = timeline ?? base.timeline;
  if (tl !== base.timeline)
    throw new HoardError(
      'usage',
      `following timeline ${tl} from a base backup on timeline ${base.timeline} is not supported yet`,
      {
        hint: `restore on timeline ${base.timeline}, or take a base backup on timeline ${tl}`,
      },
    );
  const mine = byTl.get(tl) ?? new Map();
  const newest = Math.max(0, ...[...mine.entries()].filter(([n]) => n >= fromNo).map(([, f]) => f.closedMs));
  if (atMs > newest)
    throw new HoardError(
      'usage',
      `the archived WAL reaches ${newest ? iso(newest) : 'no time yet'}; ${iso(atMs)} is later`,
      {
        hint: 'choose an earlier time, or wait for the server to archive more (hoard wal status shows the newest)',
      },
    );
  // every segment from the base's first to the first one closed at or after the target
  const nos = [...mine.keys()].filter((n) => n >= fromNo).sort((a, b) => (a < b ? -1 : 1));
  const last = nos.find((n) => mine.get(n)!.closedMs >= atMs) ?? nos[nos.length - 1];
  const gap = firstGap(mine, { timeline: tl, segno: fromNo }, last);
  if (gap !== undefined)
    throw new HoardError(
      'verify',
      `WAL segment ${segmentName({ timeline: tl, segno: gap }, segSize)} is missing: recovery cannot pass it`,
      {
        hint: `restore to a time before it, or from a base backup taken after it`,
      },
    );
  const segments: string[] = [];
  for (let n = fromNo; n <= last; n++) segments.push(segmentName({ timeline: tl, segno: n }, segSize));
  return { base, timeline: tl, segments, newestArchivedMs: newest };
}

/**
 * The plan for a target known by transaction or name: the oldest base backup (on `timeline`, or
 * the one named), replaying all archived WAL after it.
 */
export function planToEnd(c: WalCatalog, timeline?: number, baseSnapshot?: string): PitrPlan {
  const base = c.bases.find(
    (b) => (timeline === undefined || b.timeline === timeline) && (!baseSnapshot || b.snapshotId === baseSnapshot),
  );
  if (!base) return planPitr(c, 0, timeline, baseSnapshot); // its refusal: no base backup to start from
  const mine = segmentsByTimeline(c, base.segSize).get(timeline ?? base.timeline) ?? new Map();
  const newest = Math.max(base.consistentMs, ...[...mine.values()].map((f) => f.closedMs));
  return planPitr(c, newest, timeline, base.snapshotId);
}

/**
 * A folder that is missing, or empty and this user's alone (another user's folder could gain a
 * planted symlink while hoard writes); kind "usage" otherwise (nothing in it is touched).
 */
async function emptyTarget(dir: string): Promise<void> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory() || (await fs.readdir(dir)).length)
    throw new HoardError('usage', `${dir} is not empty: a point-in-time restore writes a whole data directory`, {
      hint: 'give a new or empty folder with --target (nothing was changed)',
    });
  const uid = process.getuid?.();
  if ((uid !== undefined && st.uid !== uid) || st.mode & 0o022)
    throw new HoardError('usage', `${dir} belongs to another user or others may write it`, {
      hint: 'give a folder that does not exist yet: hoard creates it, mode 0700 (nothing was changed)',
    });
}

/** Creates the target: its parents as usual, itself mode 0700 (or takes the empty one emptyTarget accepted). */
async function makeTarget(dir: string): Promise<void> {
  const fail = (e: NodeJS.ErrnoException) => {
    throw new HoardError('io', `cannot create ${dir}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`, {
      hint: 'choose a target folder this user may write (nothing was restored)',
    });
  };
  await fs.mkdir(path.dirname(dir), { recursive: true }).catch(fail);
  await fs.mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : fail(e)));
  await fs.chmod(dir, 0o700);
}

/** Removes everything inside `dir` (which was empty before the restore). */
async function emptyFolder(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir).catch(() => [] as string[]))
    await fs.rm(path.join(dir, e), { recursive: true, force: true });
}

/** Unpacks the base backup's tar into `dir`: plain files and folders only, none outside it. */
async function unpackBase(
  repo: Repository,
  tree: string,
  file: string,
  dir: string,
  signal?: AbortSignal,
): Promise<void> {
  const node = await findNode(repo, tree, `/${file}`);
  if (node?.type !== 'file')
    throw new HoardError('corrupt', `the base backup does not hold ${file}`, { hint: 'run `hoard check`' });
  const refused: string[] = [];
  await pipeline(
    Readable.from(sequentialContent(repo, node, signal)),
    extract({
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (p, e) => {
        const entry = e as { type?: string; mode?: number };
        const ok =
          (entry.type === 'File' || entry.type === 'Directory') && !path.isAbsolute(p) && !p.split('/').includes('..');
        if (!ok) refused.push(`${p} (${entry.type})`);
        entry.mode = (entry.mode ?? 0o600) & 0o700; // no setuid, setgid or sticky bit, nothing for others
        return ok;
      },
    }),
  );
  if (refused.length)
    throw new HoardError(
      'corrupt',
      `the base backup holds entries hoard does not unpack: ${refused.slice(0, 3).join(', ')}`,
      {
        hint: 'a base backup holds plain files and folders (tablespaces are not supported yet); check the repository',
      },
    );
}

/** Restores a point-in-time source to `atMs` into `target`. */
export async function restorePointInTime(
  env: Env,
  p: Project,
  req: PitrRestoreRequest,
  o: { signal?: AbortSignal } = {},
): Promise<PitrRestoreResult> {
  const src = pitrSource(p, req.source);
  const dir = path.resolve(env.cwd, req.target);
  const command = restoreCommand(p, src.name);
  const target = targetOf(req);
  await emptyTarget(dir);
  const plan = await withRepository(env, { project: p, signal: o.signal }, (repo) =>
    withLock(env, repo, false, async () => {
      const list = (await listSnapshots(repo, o.signal)).snapshots;
      const c = walCatalog(list, src.name);
      const pl =
        'time' in target || req.atMs !== undefined
          ? planPitr(c, req.atMs!, req.timeline, req.baseSnapshot)
          : planToEnd(c, req.timeline, req.baseSnapshot);
      const base = list.find((e) => e.id === pl.base.snapshotId)!;
      const major = Number.parseInt(pl.base.serverVersion, 10);
      const binDir = req.port !== undefined ? serverBinDir(major, env.vars) : undefined;
      await makeTarget(dir);
      await unpackBase(repo, base.snapshot.tree, pl.base.file, dir, o.signal).catch(async (e) => {
        await emptyFolder(dir); // it was empty: no half-restored data directory stays behind
        throw e;
      });
      return { ...pl, binDir };
    }),
  );
  // a time at or after the close of the newest archived file: no archived commit comes after it,
  // and PostgreSQL would stop at the archive's end short of its target (then restart to the end)
  const toEnd = 'time' in target && target.time >= plan.newestArchivedMs;
  await fs.rm(path.join(dir, 'postmaster.pid'), { force: true });
  await neutralize(dir);
  const access = await writeAccessFiles(dir);
  await fs.appendFile(
    path.join(dir, 'postgresql.auto.conf'),
    recoverySettings({ command, target, toEnd, timeline: plan.timeline, port: req.port }, access),
  );
  await fs.writeFile(path.join(dir, 'recovery.signal'), '');
  if (!(await fs.stat(path.join(dir, 'postgresql.conf')).catch(() => undefined)))
    await fs.writeFile(
      path.join(dir, 'postgresql.conf'),
      '# written by hoard restore: the backed-up server kept its configuration elsewhere\n',
    );
  const result: PitrRestoreResult = {
    source: src.name,
    target: dir,
    at: describe(target),
    base_snapshot: plan.base.snapshotId,
    timeline: plan.timeline,
    segments: plan.segments.length,
    started: false,
    port: req.port ?? null,
    reached: null,
    end_of_archive: toEnd,
    log: null,
  };
  if (req.port === undefined || !plan.binDir) return result;
  const user = await serverUser(path.dirname(dir)).catch(() => undefined);
  await chownTree(dir, user);
  const server = {
    binDir: plan.binDir,
    dir,
    port: req.port,
    env: serverEnv(env),
    settings: [...serverOverrides(dir, access), 'lc_messages=C'],
    user,
  };
  await startServer(server);
  result.started = true;
  result.log = path.join(dir, 'hoard-start.log');
  try {
    let end = await waitForPromotion(server, o.signal);
    if (end === 'target-not-reached' && !('time' in target))
      throw new HoardError('not-found', `the archived WAL holds no ${describe(target)} after the base backup`, {
        hint: `check the ${'xid' in target ? 'transaction id' : 'name'}, or choose an older base backup with --at TIME before it; remove the unfinished ${dir} first`,
      });
    if (end === 'target-not-reached') {
      // every archived transaction committed at or before the target: the archive's end is the state at it
      await withoutTargetTime(dir);
      result.end_of_archive = true;
      await startServer(server);
      end = await waitForPromotion(server, o.signal);
      if (end === 'target-not-reached')
        throw new HoardError('command-failed', 'the restored server stopped short of the end of the archive', {
          hint: `see ${path.join(dir, 'hoard-start.log')}`,
        });
    }
    result.reached = end;
    await fs.rm(path.join(dir, 'pg_wal', SPOOL), { recursive: true, force: true }); // what recovery did not need
  } catch (e) {
    await stopServer(plan.binDir, dir, user);
    throw e;
  }
  if (req.stopAfter) await stopServer(plan.binDir, dir, user);
  return result;
}

const NOT_REACHED = 'recovery ended before configured recovery target was reached';

/** The last lines of the restored server's log, for an error message. */
async function logTail(dir: string, lines = 3): Promise<string> {
  const text = await fs.readFile(path.join(dir, 'hoard-start.log'), 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/**
 * Waits until the server has left recovery, without logging in to it (its roles and access rules
 * came from the repository): pg_controldata says "in production". Returns the commit time of the
 * last transaction it replayed, read from its log (null when none), or "target-not-reached" when
 * the server stopped because the archive ended before a transaction after the target; kind
 * "command-failed" when it stopped for another reason.
 */
async function waitForPromotion(
  server: { binDir: string; dir: string; user?: { uid: number; gid: number } },
  signal?: AbortSignal,
): Promise<string | null | 'target-not-reached'> {
  const log = path.join(server.dir, 'hoard-start.log');
  for (let i = 0; i < 3000; i++) {
    if (signal?.aborted) throw new HoardError('interrupted', 'interrupted');
    if ((await clusterState(server.binDir, server.dir, server.user).catch(() => '')) === 'in production')
      return lastReplayed(await fs.readFile(log, 'utf8').catch(() => ''));
    if (!(await fs.stat(path.join(server.dir, 'postmaster.pid')).catch(() => undefined))) {
      const tail = await logTail(server.dir, 6);
      if (tail.includes(NOT_REACHED)) return 'target-not-reached';
      throw new HoardError('command-failed', `the restored server stopped during recovery: ${tail}`, {
        hint: `see ${log}`,
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new HoardError('command-failed', 'the restored server did not finish recovery within 10 minutes', {
    hint: `see ${log}`,
  });
}

/**
 * The time of the last "last completed transaction was at log time …" line, as RFC 3339 UTC with
 * the microseconds PostgreSQL logged; null when there is none.
 */
export function lastReplayed(log: string): string | null {
  const all = [
    ...log.matchAll(
      /last completed transaction was at log time (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-]\d\d)(?::?(\d\d))?/g,
    ),
  ];
  const m = all.at(-1);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, frac = '', oh, om = '00'] = m;
  const sign = oh.startsWith('-') ? -1 : 1;
  const offsetMin = sign * (Math.abs(Number(oh)) * 60 + Number(om));
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)) - offsetMin * 60_000;
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac.padEnd(6, '0')}Z`;
}
