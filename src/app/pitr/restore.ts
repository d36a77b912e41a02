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
import { pgQuery } from '../../databases/postgres/connection.js';
import { anyPsql } from '../../databases/postgres/tools.js';
import { chownTree, serverBinDir, serverUser, startServer, stopServer } from '../../databases/postgres/cluster.js';
import { segmentName } from '../../databases/postgres/wal.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { sequentialContent, withLock, withRepository } from '../repository-access.js';
import { type BaseBackup, type WalCatalog, firstGap, segmentsByTimeline, walCatalog } from './catalog.js';
import { cliScript, pitrConnection, pitrSource } from './source.js';
import { checkRestorePointName } from './mark.js';
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

/** A folder that is missing or empty; kind "usage" otherwise (nothing in it is touched). */
async function emptyTarget(dir: string): Promise<void> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory() || (await fs.readdir(dir)).length)
    throw new HoardError('usage', `${dir} is not empty: a point-in-time restore writes a whole data directory`, {
      hint: 'give a new or empty folder with --target (nothing was changed)',
    });
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
        const type = (e as { type?: string }).type;
        const ok = (type === 'File' || type === 'Directory') && !path.isAbsolute(p) && !p.split('/').includes('..');
        if (!ok) refused.push(`${p} (${type})`);
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

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The restore_command that serves WAL from this repository through `hoard wal fetch`. */
function restoreCommand(p: Project, source: string): string {
  // this installation's CLI, also when a library user or the API server runs the restore
  const script = cliScript();
  const config = p.loaded?.file ? ` --config ${shellWord(path.resolve(p.loaded.file))}` : '';
  return `${shellWord(process.execPath)} ${shellWord(script)} wal fetch${config}${repoFlag(p)} --source ${shellWord(source)} %f %p`;
}

/**
 * `--repo X` when the restore reads another repository than hoard.yaml's default (a copy
 * destination), so that recovery fetches WAL from the same one; never a URL with a password in it
 * (postgresql.auto.conf is no place for secrets: name the repository in hoard.yaml instead).
 */
function repoFlag(p: Project): string {
  const r = p.settings.repository;
  if (!r || r.from === 'file') return '';
  if (r.value.name) return ` --repo ${shellWord(r.value.name)}`;
  if (/^[a-z0-9+]+:\/\/[^/@]*:[^/@]*@/i.test(r.value.url) || /^rest:https?:\/\/[^/@]*:[^/@]*@/i.test(r.value.url))
    throw new HoardError(
      'usage',
      'the repository URL holds a password, which restore_command would write into postgresql.auto.conf',
      {
        hint: 'name the repository in hoard.yaml (repositories:) and restore with --repo NAME',
      },
    );
  return ` --repo ${shellWord(r.value.url)}`;
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** What recovery stops at: a time, a transaction or a restore point. */
type RecoveryTarget = { time: number } | { xid: string } | { name: string };

const describe = (t: RecoveryTarget) =>
  'time' in t ? iso(t.time) : 'xid' in t ? `transaction ${t.xid}` : `restore point ${t.name}`;

/** The target's recovery_target_* line. */
function targetLine(t: RecoveryTarget): string {
  if ('time' in t) return `recovery_target_time = ${quote(iso(t.time).replace('T', ' ').replace('Z', '+00'))}`;
  if ('xid' in t) return `recovery_target_xid = ${quote(t.xid)}`;
  return `recovery_target_name = ${quote(t.name)}`;
}

/** The request's target; kind "usage" for a malformed or doubled one. */
function targetOf(req: PitrRestoreRequest): RecoveryTarget {
  if (req.xid !== undefined && req.restorePoint !== undefined)
    throw new HoardError('usage', 'choose --xid or --restore-point, not both');
  if (req.xid !== undefined) {
    if (!/^[1-9]\d{0,19}$/.test(req.xid))
      throw new HoardError('usage', `--xid must be a transaction id (a whole number), not ${req.xid}`);
    return { xid: req.xid };
  }
  if (req.restorePoint !== undefined) return { name: checkRestorePointName(req.restorePoint) };
  if (req.atMs === undefined)
    throw new HoardError('usage', 'a point-in-time restore needs --at TIME, --xid XID or --restore-point NAME');
  return { time: req.atMs };
}

/** postgresql.auto.conf lines for recovery to `target` (settings there win over postgresql.conf). */
function recoverySettings(
  command: string,
  target: RecoveryTarget,
  toEnd: boolean,
  timeline: number,
  port?: number,
): string {
  const lines = [
    '',
    `# hoard restore to ${describe(target)}: recovery settings (remove them once the server has promoted)`,
    `restore_command = ${quote(command)}`,
    toEnd
      ? `# ${targetLine(target)} -- not set: every archived file was closed by then, so recovery runs to the end of the archive`
      : targetLine(target),
    'recovery_target_inclusive = on',
    `recovery_target_timeline = ${quote(String(timeline))}`,
    "recovery_target_action = 'promote'",
  ];
  if (port !== undefined)
    lines.push(
      '# started by hoard for inspection: archiving off, so that it does not archive into the source',
      "archive_mode = 'off'",
      `port = ${port}`,
    );
  return `${lines.join('\n')}\n`;
}

/** The environment of a server hoard starts: what wal fetch needs to open the repository. */
function serverEnv(env: Env): NodeJS.ProcessEnv {
  const keep =
    /^(PATH|HOME|LANG|LC_[A-Z_]+|TZ|TMPDIR|HOARD_PASSWORD(_FILE|_COMMAND)?|RESTIC_PASSWORD(_FILE|_COMMAND)?|HOARD_REPOSITORY)$/;
  return Object.fromEntries(Object.entries(env.vars).filter(([k, v]) => v !== undefined && keep.test(k)));
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
      await fs.mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        throw new HoardError('io', `cannot create ${dir}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`, {
          hint: 'choose a target folder this user may write (nothing was restored)',
        });
      });
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
  await fs.chmod(dir, 0o700);
  await fs.rm(path.join(dir, 'postmaster.pid'), { force: true });
  await fs.appendFile(
    path.join(dir, 'postgresql.auto.conf'),
    recoverySettings(command, target, toEnd, plan.timeline, req.port),
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
  const server = { binDir: plan.binDir, dir, port: req.port, env: serverEnv(env), user };
  await startServer(server);
  result.started = true;
  result.log = path.join(dir, 'hoard-start.log');
  try {
    let end = await waitForPromotion(p, src, server, o.signal);
    if (end === 'target-not-reached' && !('time' in target))
      throw new HoardError('not-found', `the archived WAL holds no ${describe(target)} after the base backup`, {
        hint: `check the ${'xid' in target ? 'transaction id' : 'name'}, or choose an older base backup with --at TIME before it; remove the unfinished ${dir} first`,
      });
    if (end === 'target-not-reached') {
      // every archived transaction committed at or before the target: the archive's end is the state at it
      await withoutTargetTime(dir);
      result.end_of_archive = true;
      await startServer(server);
      end = await waitForPromotion(p, src, server, o.signal);
    }
    result.reached = end === 'target-not-reached' ? null : end;
    await fs.rm(path.join(dir, 'pg_wal', SPOOL), { recursive: true, force: true }); // what recovery did not need
  } catch (e) {
    await stopServer(plan.binDir, dir, user);
    throw e;
  }
  if (req.stopAfter) await stopServer(plan.binDir, dir, user);
  return result;
}

const NOT_REACHED = 'recovery ended before configured recovery target was reached';

/** Comments out recovery_target_time in postgresql.auto.conf, so that recovery runs to the archive's end. */
async function withoutTargetTime(dir: string): Promise<void> {
  const file = path.join(dir, 'postgresql.auto.conf');
  const text = await fs.readFile(file, 'utf8');
  await fs.writeFile(
    file,
    text.replace(
      /^recovery_target_time = .*$/m,
      '# $& -- not set: no archived transaction commits after it, so recovery runs to the end of the archive',
    ),
  );
}

/** The last lines of the restored server's log, for an error message. */
async function logTail(dir: string, lines = 3): Promise<string> {
  const text = await fs.readFile(path.join(dir, 'hoard-start.log'), 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/**
 * Waits until the server has left recovery: the commit time of the last transaction it replayed
 * (null when none), or "target-not-reached" when the server stopped because the archive ended
 * before a transaction after the target; kind "command-failed" when it stopped for another reason.
 */
async function waitForPromotion(
  p: Project,
  src: ReturnType<typeof pitrSource>,
  server: { dir: string; port: number },
  signal?: AbortSignal,
): Promise<string | null | 'target-not-reached'> {
  const base = await pitrConnection(p, src);
  const { host: _socket, ...options } = base.options ?? {};
  const c = { ...base, host: '127.0.0.1', port: server.port, options };
  const psql = await anyPsql(process.env);
  for (let i = 0; i < 6000; i++) {
    if (signal?.aborted) throw new HoardError('interrupted', 'interrupted');
    const rows = await pgQuery(
      psql,
      c,
      'SELECT pg_is_in_recovery(), to_char(pg_last_xact_replay_timestamp() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')',
    ).catch(() => undefined);
    if (rows && rows[0]?.[0] === 'f') return rows[0][1] || null;
    if (!rows && !(await fs.stat(path.join(server.dir, 'postmaster.pid')).catch(() => undefined))) {
      const tail = await logTail(server.dir, 6);
      if (tail.includes(NOT_REACHED)) return 'target-not-reached';
      throw new HoardError('command-failed', `the restored server stopped during recovery: ${tail}`, {
        hint: `see ${path.join(server.dir, 'hoard-start.log')}`,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new HoardError('command-failed', 'the restored server did not finish recovery within 10 minutes', {
    hint: `see ${path.join(server.dir, 'hoard-start.log')}`,
  });
}
