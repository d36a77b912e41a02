/**
 * SQLite through better-sqlite3: the online backup API copies a consistent image (WAL mode
 * included) while the application writes; the copy must pass PRAGMA integrity_check before it is
 * stored, as the database file itself; row counts are taken on that copy. A restore writes a temp file beside the target, checks it,
 * then renames it over the target, so an application never sees half a file.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { HoardError, writeAll } from '../../core/index.js';
import type {
  Connection,
  DatabaseEngine,
  DumpOptions,
  DumpStream,
  NewestKey,
  ProbeResult,
  RestoreIntoOptions,
  SqlAccess,
  TableFact,
  TableRef,
} from '../types.js';
import { tableFacts } from '../facts.js';

/** better-sqlite3, loaded on first use: most commands never open a SQLite file. */
const Database = (...args: ConstructorParameters<typeof BetterSqlite3>) =>
  new (createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3)(...args);

const HEADER = Buffer.from('SQLite format 3\0');
const BUSY_MS = 5000;

function file(c: Connection): string {
  if (!c.path) throw new HoardError('usage', 'a SQLite source needs a path', { hint: 'e.g. sqlite:data/app.db' });
  return c.path;
}

/** Fails with kind "usage" unless `p` is a SQLite database file. */
async function requireDatabase(p: string): Promise<number> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(p, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HoardError(
      code === 'ENOENT' ? 'usage' : 'db-connection',
      `cannot open the SQLite database ${p}: ${code === 'ENOENT' ? 'no such file' : code}`,
      { hint: 'check the path' },
    );
  }
  try {
    const head = Buffer.alloc(HEADER.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const size = (await fh.stat()).size;
    if (size > 0 && (bytesRead < HEADER.length || !head.equals(HEADER))) {
      throw new HoardError('usage', `${p} is not a SQLite database (its header is wrong)`, {
        hint: 'give the path of a SQLite database file',
      });
    }
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * Opens a file as untrusted (it may come from a repository): with trusted_schema off, functions
 * and virtual tables that are not innocuous cannot run from the schema's views, triggers, CHECK
 * constraints, defaults, generated columns or indexes. Extensions cannot be loaded: better-sqlite3
 * leaves SQL's load_extension() disabled and hoard never calls loadExtension().
 */
function open(p: string, readonly = true): BetterSqlite3.Database {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = Database(p, { readonly, fileMustExist: true, timeout: BUSY_MS });
    db.pragma('trusted_schema = OFF');
    return db;
  } catch (e) {
    db?.close();
    throw sqliteError(e, p);
  }
}

function sqliteError(e: unknown, p: string): unknown {
  const code = (e as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HoardError('db-connection', `the SQLite database ${p} is locked by another process`, {
      hint: 'retry when the other writer has finished (hoard waited 5 s)',
    });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new HoardError('usage', `${p} is not a usable SQLite database (${code})`, {
      hint: 'give the path of a SQLite database file',
    });
  if (code.startsWith('SQLITE_')) return new HoardError('db-connection', `SQLite ${p}: ${(e as Error).message}`);
  return e;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** integrity_check's complaints as single lines (none when the file is sound). */
function integrity(db: BetterSqlite3.Database): string[] {
  const rows = db.prepare('PRAGMA integrity_check(20)').all() as { integrity_check: string }[];
  return rows
    .flatMap((r) => r.integrity_check.split('\n'))
    .map((m) => m.trim())
    .filter((m) => m && m !== 'ok' && !m.startsWith('***'));
}

/** User tables with exact row counts (-1 when not counted). */
function countRows(db: BetterSqlite3.Database, count = true): { name: string; rows: number }[] {
  const names = (
    db
      .prepare(
        `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  return names.map((name) => ({
    name,
    rows: count ? Number((db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number }).n) : -1,
  }));
}

/** Tables whose primary key is one INTEGER column (rowid aliases included) or a date/time column: its max. */
function newestKeys(db: BetterSqlite3.Database, tables: TableRef[]): Map<string, NewestKey> {
  const out = new Map<string, NewestKey>();
  for (const t of tables) {
    const pk = db.prepare('SELECT name, type FROM pragma_table_info(?) WHERE pk > 0').all(t.name) as {
      name: string;
      type: string;
    }[];
    if (pk.length !== 1 || !/INT|DATE|TIME|NUMERIC|DECIMAL/i.test(pk[0].type)) continue;
    const [max] = db
      .prepare(`SELECT max(${quote(pk[0].name)}) FROM ${quote(t.name)}`)
      .raw(true)
      .get() as unknown[];
    out.set(t.name, { column: pk[0].name, max: max === null || max === undefined ? null : String(max) });
  }
  return out;
}

/** Each row (its values as SQLite returns them) hashed to 64 bits, summed mod 2^64: the same rows in any order give the same sum. */
function checksum(db: BetterSqlite3.Database, table: string): string {
  let sum = 0n;
  const value = (v: unknown) => (Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : typeof v === 'bigint' ? `${v}n` : v);
  for (const row of db
    .prepare(`SELECT * FROM ${quote(table)}`)
    .raw(true)
    .safeIntegers(true)
    .iterate() as Iterable<unknown[]>) {
    const h = createHash('sha256')
      .update(JSON.stringify(row.map(value)))
      .digest();
    sum = (sum + h.readBigUInt64BE(0)) & 0xffffffffffffffffn;
  }
  return sum.toString();
}

function sql(c: Connection): SqlAccess {
  // async: a failure is a rejection, as SqlAccess promises, never a throw at the call
  const run = async <T>(fn: (db: BetterSqlite3.Database) => T): Promise<T> => {
    const db = open(file(c));
    try {
      return fn(db);
    } catch (e) {
      throw sqliteError(e, file(c));
    } finally {
      db.close();
    }
  };
  return {
    tables: (o) => run((db) => countRows(db, o?.count !== false)),
    columns: (t: TableRef) =>
      run((db) =>
        (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t.name) as { name: string }[]).map((r) => r.name),
      ),
    query: (text: string) =>
      run((db) =>
        (db.prepare(text).raw(true).all() as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v)))),
      ),
    ref: (t: TableRef) => quote(t.name),
    newestKeys: (tables: TableRef[]) => run((db) => newestKeys(db, tables)),
    checksums: (tables: TableRef[]) => run((db) => new Map(tables.map((t) => [t.name, checksum(db, t.name)]))),
    primaryKey: (t: TableRef) =>
      run((db) =>
        (
          db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').all(t.name) as { name: string }[]
        ).map((r) => quote(r.name)),
      ),
  };
}

async function probe(c: Connection): Promise<ProbeResult> {
  const size = await requireDatabase(file(c));
  const db = open(file(c));
  try {
    const v = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    db.prepare('SELECT count(*) FROM sqlite_schema').get(); // fails now if locked or not a database
    return { serverVersion: v, toolVersion: `better-sqlite3 (SQLite ${v})`, estimatedBytes: size };
  } catch (e) {
    throw sqliteError(e, file(c));
  } finally {
    db.close();
  }
}

async function dump(c: Connection, o: DumpOptions): Promise<DumpStream> {
  if (o.format !== 'sqlite')
    throw new HoardError('usage', `SQLite backups are stored as the database file, not ${o.format}`, {
      hint: 'drop --format',
    });
  const src = file(c);
  await requireDatabase(src);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hoard-sqlite-'));
  const copy = path.join(dir, path.basename(src));
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  let facts: TableFact[] = [];
  try {
    const db = open(src);
    // After the first step, copy everything in one step: a step reads under one read transaction, so a
    // writer in another process cannot make the copy restart again and again (it would with small steps).
    try {
      await db.backup(copy, { progress: () => 0x7fffffff });
    } catch (e) {
      throw sqliteError(e, src);
    } finally {
      db.close();
    }
    const check = open(copy);
    try {
      const bad = integrity(check);
      if (bad.length)
        throw new HoardError('verify', `the copy of ${src} fails integrity_check: ${bad.slice(0, 3).join('; ')}`, {
          hint: 'the source database is damaged; repair it (sqlite3 .recover) before backing it up',
        });
      facts = await tableFacts(sql({ engine: 'sqlite', path: copy }), countRows(check), {
        keys: true,
        checksums: o.checksums,
      });
    } finally {
      check.close();
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  return {
    name: path.basename(src),
    stream: createReadStream(copy, { highWaterMark: 1 << 20 }),
    facts: () => facts,
    done: Promise.resolve(),
    cleanup,
  };
}

async function hasData(c: Connection): Promise<boolean> {
  try {
    return (await fsp.stat(file(c))).size > 0;
  } catch {
    return false;
  }
}

async function restore(c: Connection, input: AsyncIterable<Buffer> | string, o: RestoreIntoOptions): Promise<void> {
  if (o.format !== 'sqlite' || typeof input === 'string')
    throw new HoardError('usage', `SQLite restores database files only, not ${o.format}`);
  const target = path.resolve(file(c));
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.hoard-restore-${randomBytes(6).toString('hex')}`,
  );
  try {
    const fh = await fsp.open(temp, 'wx', 0o600);
    try {
      for await (const chunk of input) await writeAll(fh, chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await requireDatabase(temp);
    const check = open(temp, false); // read-write: closing removes the -wal/-shm a WAL-mode file creates
    try {
      const bad = integrity(check);
      if (bad.length)
        throw new HoardError(
          'verify',
          `the restored file fails integrity_check: ${bad.slice(0, 3).join('; ')}; ${target} was not changed`,
        );
    } finally {
      check.close();
    }
    await settleTarget(target);
    const mode = await fsp.stat(target).then(
      (s) => s.mode & 0o777,
      () => 0o644,
    );
    await fsp.chmod(temp, mode);
    await fsp.rename(temp, target);
    for (const side of ['-wal', '-shm']) await fsp.rm(target + side, { force: true });
    const dirFh = await fsp.open(path.dirname(target), 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw sqliteError(e, target);
  } finally {
    for (const side of ['-wal', '-shm', '-journal']) await fsp.rm(temp + side, { force: true });
  }
}

/** Folds the target's WAL into its main file (and fails if another process holds it locked). */
async function settleTarget(target: string): Promise<void> {
  try {
    await fsp.access(target);
  } catch {
    return;
  }
  const db = open(target, false);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

export const sqlite: DatabaseEngine = {
  engine: 'sqlite',
  formats: ['sqlite'],
  name: (c) => path.basename(c.path ?? ''),
  fileName: (c) => path.basename(c.path ?? ''),
  probe,
  sql,
  dump,
  hasData,
  restore,
  countsFromDump: () => true,
};
