/**
 * The restore drill: a snapshot restored into a scratch target and checked, then the target
 * removed. Databases go into a new database named `hoard_drill_<pid>_<host tag><random>` on the same server
 * (never the real one: a name that exists is refused, and the restore only ever addresses the
 * scratch name), SQLite files and file trees into a private temporary folder. Checks: every table
 * recorded at backup is present with the recorded row count, each table's primary-key min/max and
 * a sample row can be read, SQLite's integrity_check and foreign_key_check, and configured sanity
 * SQL; for files, every file restored and verified against the tree's hashes. Scratch databases of
 * drills whose process died are dropped by the next drill on this host.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type BackupOptions,
  type Repository,
  type SnapshotEntry,
  type VerificationCheck,
  HoardError,
  isHoardError,
  restoreTree,
  walkTree,
} from '../core/index.js';
import { type Connection, type NewestKey, type SqlAccess, type TableFact, engineFor } from '../databases/index.js';
import { databaseMeta, restoreDatabase } from './database-restore.js';
import type { Project } from './project.js';
import { configuredTarget } from './source-restore.js';

export const DRILL_PREFIX = 'hoard_drill_';

export interface DrillOptions {
  /** The server to drill on (default: the source's, as configured, else the snapshot's URL). */
  server?: Connection;
  /** A scratch database name to use instead of a generated one (refused when it exists). */
  target?: string;
  /** Sanity queries; each must succeed and return a true-ish first value. */
  sql?: string[];
  isProcessAlive(pid: number): boolean;
}

export interface DrillResult {
  checks: VerificationCheck[];
  /** How long the restore into the scratch target took (the sum over a server-wide snapshot's databases). */
  restoreMs: number;
  /** Scratch databases of dead drills that this run dropped. */
  leftovers: string[];
}

const pass = (name: string, message: string): VerificationCheck => ({ name, ok: true, message });
const fail = (name: string, message: string): VerificationCheck => ({ name, ok: false, message });
const n = (x: number) => x.toLocaleString('en-US');

/** Recorded tables of one database of the snapshot; a table whose record is not well formed has rows -1 (a failed check). */
function recordedTables(s: SnapshotEntry, db: string | null): TableFact[] {
  const h = s.snapshot.hoard as { tables?: unknown; databases?: { name: string; tables: unknown }[] };
  const list = (db ? h.databases?.find((d) => d.name === db)?.tables : undefined) ?? h.tables;
  return (Array.isArray(list) ? list : []).flatMap((x: Partial<TableFact>) =>
    typeof x?.name === 'string' ? [tableFact(x as Partial<TableFact> & { name: string })] : [],
  );
}

/** A recorded table's fields of the right types (rows -1 when its count is not one). */
function tableFact(x: Partial<TableFact> & { name: string }): TableFact {
  if (!Number.isSafeInteger(x.rows)) return { name: x.name, rows: -1 };
  const key = typeof x.key === 'string' ? x.key : undefined;
  return {
    name: x.name,
    rows: x.rows!,
    rows_after: count(x.rows_after),
    dump_rows: count(x.dump_rows),
    ...(key !== undefined ? { key, newest: textOrNull(x.newest) } : {}),
    ...(key !== undefined && x.newest_after !== undefined ? { newest_after: textOrNull(x.newest_after) } : {}),
    ...(typeof x.checksum === 'string' ? { checksum: x.checksum } : {}),
  };
}

const count = (v: unknown) => (Number.isSafeInteger(v) ? (v as number) : undefined);
const textOrNull = (v: unknown) => (typeof v === 'string' ? v : null);

/** a <= v <= b (either way round), as numbers when all three are, else as text (ISO times order as text). */
function within(v: string | null, a: string | null, b: string | null): boolean {
  if (v === a || v === b) return true;
  if (v === null || a === null || b === null) return false;
  const [x, y, z] = [v, a, b].map(Number);
  if ([x, y, z].every(Number.isFinite)) return x >= Math.min(y, z) && x <= Math.max(y, z);
  return (v >= a && v <= b) || (v >= b && v <= a);
}

/** v > a and v > b, as numbers when all three are, else as text. */
function above(v: string, a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  const [x, y, z] = [v, a, b].map(Number);
  if ([x, y, z].every(Number.isFinite)) return x > y && x > z;
  return v > a && v > b;
}

/** The newest key and checksum checks of a table whose count matched (none when the backup recorded neither). */
function keyAndSum(r: TableFact, key: NewestKey | undefined, sum: string | undefined): VerificationCheck | undefined {
  if (r.key !== undefined) {
    const restored = key?.max ?? null;
    const at = r.newest ?? null;
    const after = r.newest_after === undefined ? at : r.newest_after;
    // bounds (MySQL): a newer key than both counts saw was added and removed during the dump
    const added = r.newest_after !== undefined && restored !== null && above(restored, at, after);
    if (!within(restored, at, after) && !added)
      return fail(
        'newest',
        `table ${r.name}: newest ${r.key} ${restored ?? 'none'} restored, ${at === after ? (at ?? 'none') : `${at}–${after}`} at backup`,
      );
  }
  if (r.checksum !== undefined && sum !== r.checksum)
    return fail(
      'checksum',
      `table ${r.name}: its rows differ from the backup's (checksum ${sum ?? 'none'}, ${r.checksum} at backup)`,
    );
  return undefined;
}

/** What the backup recorded of a table, as a phrase: "5,001" or "5,001–5,020 (before and after the dump)". */
function atBackup(r: TableFact): string {
  const lo = Math.min(r.rows, r.rows_after ?? r.rows);
  const hi = Math.max(r.rows, r.rows_after ?? r.rows);
  return lo === hi ? n(lo) : `${n(lo)}–${n(hi)} (before and after the dump)`;
}

/** True when a restored count is what the backup recorded (within the bounds, where it has them). */
function rowsMatch(r: TableFact, restored: number): boolean {
  const other = r.rows_after ?? r.rows;
  return restored >= Math.min(r.rows, other) && restored <= Math.max(r.rows, other);
}

/**
 * Bounds only (MySQL): a restore holding exactly the dump's own rows, more than either count, is
 * a table whose rows came and went during the dump (a queue): a dump cannot invent rows, while a
 * dump that lost some holds fewer, which stays a failure.
 */
function churned(r: TableFact, restored: number): boolean {
  return (
    r.rows_after !== undefined &&
    r.dump_rows !== undefined &&
    restored === r.dump_rows &&
    restored > Math.max(r.rows, r.rows_after)
  );
}

/** ", the dump held 0": where the dump's own count differs from the database's (the loss was in the dump). */
function dumpNote(r: TableFact): string {
  return r.dump_rows !== undefined && !rowsMatch(r, r.dump_rows) ? `; the dump held ${n(r.dump_rows)}` : '';
}

const truthy = (v: string | null | undefined) =>
  v !== null && v !== undefined && !['', '0', 'f', 'false'].includes(v.toLowerCase());

/** Tables, row counts, primary-key ranges, a sample row each, and the sanity SQL. */
async function databaseChecks(sql: SqlAccess, recorded: TableFact[], sanity: string[]): Promise<VerificationCheck[]> {
  const out: VerificationCheck[] = [];
  const live = new Map(
    (await sql.tables({ count: true })).map((t) => [t.schema ? `${t.schema}.${t.name}` : t.name, t]),
  );
  const present = recorded.flatMap((r) => (live.has(r.name) ? [live.get(r.name)!] : []));
  const keyed = recorded.some((r) => r.key !== undefined) ? await sql.newestKeys(present) : new Map();
  const summed = recorded.some((r) => r.checksum !== undefined) ? await sql.checksums(present) : new Map();
  for (const r of recorded) {
    if (r.rows < 0) {
      out.push(
        fail('table', `table ${r.name}: the backup's record of it is not readable (its row count is not a number)`),
      );
      continue;
    }
    const t = live.get(r.name);
    if (!t) {
      out.push(fail('table', `table ${r.name}: missing after restore, ${atBackup(r)} rows at backup${dumpNote(r)}`));
      continue;
    }
    const churn = churned(r, t.rows);
    if (!rowsMatch(r, t.rows) && !churn) {
      out.push(fail('rows', `table ${r.name}: ${n(t.rows)} rows restored, ${atBackup(r)} at backup${dumpNote(r)}`));
      continue;
    }
    const wrong = keyAndSum(r, keyed.get(r.name), summed.get(r.name));
    if (wrong) {
      out.push(wrong);
      continue;
    }
    const ref = sql.ref(t);
    try {
      const pk = await sql.primaryKey(t);
      let range = '';
      if (pk.length === 1) {
        const [row] = await sql.query(`SELECT min(${pk[0]}), max(${pk[0]}) FROM ${ref}`);
        range = `, ${pk[0]} ${row?.[0] ?? 'null'}..${row?.[1] ?? 'null'}`;
      }
      // a row read, not printed: one row may hold a value of a gigabyte
      const [sample] = await sql.query(`SELECT count(*) FROM (SELECT * FROM ${ref} LIMIT 1) s`);
      if (r.rows > 0 && Number(sample?.[0] ?? 0) === 0) {
        out.push(fail('sample', `table ${r.name}: no row could be read`));
        continue;
      }
      const note = churn ? ` (above the counts before and after the dump: rows added and removed while it ran)` : '';
      out.push(
        pass(
          'table',
          `${r.name}: ${n(t.rows)} rows${range}${r.checksum !== undefined ? ', checksum matches' : ''}${note}`,
        ),
      );
    } catch (e) {
      out.push(fail('query', `table ${r.name} cannot be queried: ${(e as Error).message.split('\n')[0]}`));
    }
  }
  for (const name of live.keys())
    if (!recorded.some((r) => r.name === name)) out.push(pass('table', `${name}: present, not recorded at backup`));
  for (const q of sanity) {
    try {
      const [row] = await sql.query(q);
      out.push(
        truthy(row?.[0])
          ? pass('sanity', `${q}: ${row?.[0]}`)
          : fail('sanity', `${q} returned ${row?.[0] ?? 'no row'}`),
      );
    } catch (e) {
      out.push(fail('sanity', `${q} failed: ${(e as Error).message.split('\n')[0]}`));
    }
  }
  return out;
}

/** Six hex digits of this host's name: a scratch name says which host's drill made it. */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 6);

/** A new scratch name: the prefix, this process's pid, this host's tag and a random part. */
function scratchName(): string {
  return `${DRILL_PREFIX}${process.pid}_${HOST_TAG}${randomBytes(4).toString('hex')}`;
}

/**
 * The pid of a scratch database this host's drills made (its tag, or no tag: names before tags),
 * or undefined for any other name: a database that only looks like a scratch one, or another
 * host's, whose pids mean nothing here, is never dropped.
 */
function leftoverPid(name: string): number | undefined {
  const m = /^hoard_drill_(\d+)_(?:([0-9a-f]{6})[0-9a-f]{8}|[0-9a-f]{8})$/.exec(name);
  return m && (m[2] === undefined || m[2] === HOST_TAG) ? Number(m[1]) : undefined;
}

/** Drops scratch databases left by this host's drills whose process is gone. */
async function removeLeftovers(server: Connection, o: DrillOptions): Promise<string[]> {
  const scratch = engineFor(server).scratch!;
  const gone: string[] = [];
  for (const name of await scratch.list(server, DRILL_PREFIX)) {
    const pid = leftoverPid(name);
    if (pid && pid !== process.pid && !o.isProcessAlive(pid)) {
      await scratch.drop(server, name);
      gone.push(name);
    }
  }
  return gone;
}

/**
 * A restore that failed on what the backup holds (a dump the tool refuses, damaged data, a failed
 * tool run) is a failed drill, recorded like any other (exit 5); anything else (no permission, a
 * missing tool, an interruption) stops the drill and is thrown.
 */
function restoreFailed(e: unknown, what: unknown): VerificationCheck {
  if (!isHoardError(e) || !['corrupt', 'verify', 'command-failed'].includes(e.kind)) throw e;
  return fail('restore', `restoring ${String(what ?? 'the backup')} failed: ${e.message.split('\n')[0].slice(0, 500)}`);
}

function scratchError(e: unknown, server: Connection, name: string): unknown {
  const m = (e as Error).message ?? '';
  if (/permission denied|access denied|must be owner|not allowed/i.test(m)) {
    return new HoardError(
      'db-connection',
      `the drill may not create the scratch database ${name} on ${server.host ?? 'the server'}: ${m.split('\n')[0]}`,
      {
        hint:
          'give the database user CREATEDB (PostgreSQL) or CREATE privileges (MySQL), or drill on ' +
          'another server with --drill-server URL',
      },
    );
  }
  return e;
}

async function drillServer(
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  o: DrillOptions,
  bo: BackupOptions,
): Promise<DrillResult> {
  const meta = databaseMeta(s);
  // never the server the snapshot names: its metadata may have been written by whoever holds the key
  const server = o.server ?? (await configuredTarget(p, s));
  if (!server) {
    const stored = typeof meta.url === 'string' ? meta.url.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, '?') : '';
    throw new HoardError(
      'not-allowed',
      `snapshot ${s.id.slice(0, 8)} is of a ${meta.engine} source this project does not configure${stored ? ` (it was taken of ${stored})` : ''}, and a drill server is never taken from the repository; nothing was drilled`,
      {
        hint: `name the server: --drill-server URL${stored ? ` (e.g. --drill-server ${stored})` : ''}, or configure the source in hoard.yaml`,
      },
    );
  }
  const scratch = engineFor(server).scratch!;
  const leftovers = await removeLeftovers(server, o);
  const dbs = meta.all
    ? ((s.snapshot.hoard as { databases?: { name: string }[] }).databases ?? []).map((d) => d.name)
    : [meta.name];
  const checks: VerificationCheck[] = [];
  let restoreMs = 0;
  for (const db of dbs) {
    const name = o.target ?? scratchName();
    if (await scratch.exists(server, name)) {
      throw new HoardError('usage', `the drill target ${name} already exists; nothing was changed`, {
        hint: 'give a name that does not exist with --drill-target, or leave it out',
      });
    }
    const started = bo.clock.now();
    try {
      await restoreDatabase(
        repo,
        { snapshot: s, target: server, targetDb: name, database: meta.all ? (db ?? undefined) : undefined },
        { ...bo, dryRun: false },
      );
      restoreMs += bo.clock.now() - started;
    } catch (e) {
      await scratch.drop(server, name).catch(() => {});
      const failed = restoreFailed(scratchError(e, server, name), db ?? meta.name);
      checks.push(failed);
      continue;
    }
    try {
      checks.push(pass('restore', `restored ${db ?? meta.name} into the scratch database ${name}`));
      checks.push(
        ...(await databaseChecks(
          engineFor(server).sql({ ...server, database: name }),
          recordedTables(s, meta.all ? db : null),
          o.sql ?? [],
        )),
      );
    } finally {
      await scratch.drop(server, name);
    }
  }
  return { checks, leftovers, restoreMs };
}

async function drillSqlite(
  repo: Repository,
  s: SnapshotEntry,
  o: DrillOptions,
  bo: BackupOptions,
): Promise<DrillResult> {
  const meta = databaseMeta(s);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-drill-'));
  try {
    // a fixed name: the snapshot's own name for its file is untrusted (it could be ../../x)
    const target: Connection = { engine: 'sqlite', path: path.join(dir, 'drill.sqlite') };
    const started = bo.clock.now();
    try {
      await restoreDatabase(repo, { snapshot: s, target }, { ...bo, dryRun: false });
    } catch (e) {
      return { checks: [restoreFailed(e, meta.name)], leftovers: [], restoreMs: bo.clock.now() - started };
    }
    const restoreMs = bo.clock.now() - started;
    const sql = engineFor(target).sql(target);
    const checks: VerificationCheck[] = [
      pass('restore', `restored ${JSON.stringify(String(meta.name ?? 'the database'))} into a scratch file`),
    ];
    const integrity = (await sql.query('PRAGMA integrity_check')).map((r) => r[0]);
    checks.push(
      integrity.join() === 'ok'
        ? pass('integrity_check', 'ok')
        : fail('integrity_check', integrity.slice(0, 3).join('; ')),
    );
    const fk = await sql.query('PRAGMA foreign_key_check');
    checks.push(
      fk.length === 0
        ? pass('foreign_key_check', 'no violations')
        : fail('foreign_key_check', `${fk.length} row(s) violate foreign keys, e.g. in ${fk[0][0]}`),
    );
    checks.push(...(await databaseChecks(sql, recordedTables(s, null), o.sql ?? [])));
    return { checks, leftovers: [], restoreMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function drillFiles(repo: Repository, s: SnapshotEntry, bo: BackupOptions): Promise<DrillResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-drill-'));
  try {
    let files = 0,
      bytes = 0;
    for await (const { node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), bo.signal))
      if (node.type === 'file') {
        files++;
        bytes += node.size ?? 0;
      }
    const started = bo.clock.now();
    const sum = await restoreTree(repo, s.snapshot.tree, { target: dir, signal: bo.signal });
    const restoreMs = bo.clock.now() - started;
    const checks = sum.errors.map((e) => fail('file', `${e.path}: ${e.message}`));
    if (sum.files !== files) checks.push(fail('files', `${sum.files} of ${files} files restored`));
    if (!checks.length)
      checks.push(pass('files', `${files} files (${n(bytes)} bytes) restored and verified against the tree's hashes`));
    return { checks, leftovers: [], restoreMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Drills one snapshot. Throws for what stops the drill (no server, no permission, a target that exists). */
export async function drillSnapshot(
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  o: DrillOptions,
  bo: BackupOptions,
): Promise<DrillResult> {
  const db = (s.snapshot.hoard as { database?: { engine?: string } } | undefined)?.database;
  if (!db?.engine) return drillFiles(repo, s, bo);
  if (db.engine === 'sqlite') return drillSqlite(repo, s, o, bo);
  return drillServer(p, repo, s, o, bo);
}
