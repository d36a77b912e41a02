/**
 * PostgreSQL: pg_dump streamed into the repository (plain SQL, custom -Z0, or directory -j N into a
 * private temp folder), restores through psql (one transaction, ON_ERROR_STOP, restricted to SQL by
 * restrict-filter.ts) or pg_restore (--exit-on-error). Tools come from the folder chosen by
 * tools.ts; the database name reaches them only as PGDATABASE (connection.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { HoardError, isHoardError } from '../../core/index.js';
import { captureTool, drainTool, observed, runTool } from '../process.js';
import { describe } from '../url.js';
import type {
  Connection,
  DatabaseEngine,
  DumpFormat,
  DumpOptions,
  DumpSnapshot,
  DumpStream,
  NewestKey,
  ProbeResult,
  RestoreIntoOptions,
  ScratchDatabases,
  SqlAccess,
  TableRef,
} from '../types.js';
import {
  MAINTENANCE_DB,
  connectionError,
  pgDatabase,
  pgEnv,
  pgIdent,
  pgLiteral,
  pgQuery,
  pgRef,
} from './connection.js';
import { type PgTools, anyPsql, pgTools, requireRestrictMode } from './tools.js';
import { canStage, createStaging, dropDatabase, dumpEncoding, stagingName, switchIn } from './staging.js';
import { refusalError, restrictedScript } from './restrict-filter.js';
import { CopyRowCounter, countingRows } from './copy-rows.js';
import { openSnapshot } from './snapshot.js';
import { chunks } from '../batch.js';

const majors = new Map<string, { major: number; version: string }>();

/** The server's version (asked once per server and process). */
async function serverMajor(c: Connection, database?: string): Promise<{ major: number; version: string }> {
  const key = `${describe(c)}|${database ?? ''}`;
  const hit = majors.get(key);
  if (hit) return hit;
  const rows = await pgQuery(await anyPsql(process.env), c, 'SHOW server_version_num', database);
  const num = Number(rows[0]?.[0] ?? 0);
  const v = { major: Math.floor(num / 10000), version: `${Math.floor(num / 10000)}.${num % 10000}` };
  majors.set(key, v);
  return v;
}

async function tools(c: Connection, database?: string) {
  return pgTools((await serverMajor(c, database)).major, process.env);
}

const COUNT_SQL = `(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text`;
const TABLES_SQL = (count: boolean) => `SELECT n.nspname, c.relname, ${count ? COUNT_SQL : '-1'}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
ORDER BY 1, 2`; // leaf tables: a partitioned parent holds no rows of its own

function sql(c: Connection): SqlAccess {
  let psql: Promise<string> | undefined;
  return sqlOver(async (text: string) => pgQuery(await (psql ??= anyPsql(process.env)), c, text));
}

/** Tables whose primary key is one column of a number or time type (max() exists and orders them as values). */
const KEYS_SQL = `SELECT n.nspname, c.relname, a.attname
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indisprimary AND i.indnatts = 1 AND c.relkind = 'r'
AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype, 'date'::regtype,
  'timestamp'::regtype, 'timestamptz'::regtype)`;

const qualified = (t: TableRef) => (t.schema ? `${t.schema}.${t.name}` : t.name);

/** SqlAccess over one way of running a query (a psql per query, or a snapshot session). */
function sqlOver(q: (text: string) => Promise<(string | null)[][]>): SqlAccess {
  return {
    async tables(o) {
      return (await q(TABLES_SQL(o?.count !== false))).map((r) => ({
        schema: r[0]!,
        name: r[1]!,
        rows: Number(r[2] ?? 0),
      }));
    },
    async columns(t) {
      return (
        await q(
          `SELECT attname FROM pg_attribute WHERE attrelid = ${pgLiteral(pgRef(t))}::regclass AND attnum > 0 AND NOT attisdropped`,
        )
      ).map((r) => r[0]!);
    },
    query: q,
    ref: pgRef,
    async newestKeys(tables) {
      const wanted = new Set(tables.map(qualified));
      const keys = (await q(KEYS_SQL)).filter((r) => wanted.has(`${r[0]}.${r[1]}`));
      const out = new Map<string, NewestKey>();
      for (const part of chunks(keys, 100)) {
        const sql = part.map(
          (r) =>
            `SELECT ${pgLiteral(`${r[0]}.${r[1]}`)}, max(${pgIdent(r[2]!)})::text FROM ${pgRef({ schema: r[0]!, name: r[1]! })}`,
        );
        const byName = new Map(part.map((r) => [`${r[0]}.${r[1]}`, r[2]!]));
        for (const [name, max] of await q(sql.join(' UNION ALL '))) out.set(name!, { column: byName.get(name!)!, max });
      }
      return out;
    },
    async checksums(tables) {
      const out = new Map<string, string>();
      for (const part of chunks(tables, 50)) {
        // each row's text form hashed to 64 bits, summed: the same rows give the same sum in any order
        const sql = part.map(
          (t) =>
            `SELECT ${pgLiteral(qualified(t))}, coalesce(sum(('x' || left(md5(r::text), 16))::bit(64)::bigint::numeric), 0)::text FROM ${pgRef(t)} r`,
        );
        for (const [name, sum] of await q(sql.join(' UNION ALL '))) out.set(name!, sum ?? '0');
      }
      return out;
    },
    async primaryKey(t) {
      return (
        await q(`SELECT quote_ident(a.attname) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = ${pgLiteral(pgRef(t))}::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`)
      ).map((r) => r[0]!);
    },
  };
}

/** A snapshot session (snapshot.ts) whose queries read what `pg_dump --snapshot` reads. */
async function snapshot(c: Connection, signal?: AbortSignal): Promise<DumpSnapshot> {
  const t = await tools(c);
  const session = await openSnapshot(t.bin('psql'), c, signal);
  return { id: session.id, sql: sqlOver(session.query), close: session.close };
}

async function probe(c: Connection): Promise<ProbeResult> {
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    "SELECT current_setting('server_version_num'), pg_database_size(current_database())",
  );
  const num = Number(rows[0]?.[0] ?? 0);
  const v = { major: Math.floor(num / 10000), version: `${Math.floor(num / 10000)}.${num % 10000}` };
  majors.set(`${describe(c)}|`, v);
  const t = await pgTools(v.major, process.env);
  return { serverVersion: v.version, toolVersion: t.version, estimatedBytes: Number(rows[0]?.[1] ?? 0) };
}

function dumpArgs(format: DumpOptions['format']): string[] {
  switch (format) {
    case 'sql':
      return ['--format=plain', '--clean', '--if-exists'];
    case 'custom':
      return ['--format=custom', '--compress=0'];
    case 'directory':
      return ['--format=directory', '--compress=0'];
    default:
      throw new HoardError('usage', `PostgreSQL has no dump format ${format}`, {
        hint: 'use sql, custom or directory',
      });
  }
}

const EXT: Record<string, string> = { sql: '.sql', custom: '.dump', directory: '.dir' };
const fileName = (c: Connection, format: DumpFormat) => `${pgDatabase(c)}${EXT[format] ?? ''}`;

async function dump(c: Connection, o: DumpOptions): Promise<DumpStream> {
  const t = await tools(c);
  const shared = o.snapshot ? [`--snapshot=${o.snapshot}`] : [];
  const argv = [t.bin('pg_dump'), '--no-password', ...dumpArgs(o.format), ...shared];
  const name = fileName(c, o.format);
  if (o.format !== 'directory') {
    const run = runTool(argv, { env: pgEnv(c), signal: o.signal });
    const counter = o.format === 'sql' ? new CopyRowCounter() : undefined;
    const stream = counter ? countingRows(run.stdout as AsyncIterable<Buffer>, counter) : run.stdout;
    return {
      name,
      stream,
      rows: counter && (() => counter.rows),
      done: observed(
        run.done.catch((e) => {
          throw connectionError(e, c);
        }),
      ),
    };
  }
  // pg_dump -Fd writes files itself: a private folder, removed after the backup.
  const parent = await mkdtemp(path.join(os.tmpdir(), 'hoard-pgdump-'));
  const folder = path.join(parent, name);
  const run = runTool([...argv, `--jobs=${o.jobs ?? 2}`, `--file=${folder}`], { env: pgEnv(c), signal: o.signal });
  const drain = (async () => {
    for await (const _ of run.stdout) {
      /* pg_dump -f prints nothing */
    }
  })();
  return {
    name,
    folder,
    done: observed(Promise.all([run.done, drain]).then(() => undefined)),
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
}

async function databaseExists(c: Connection, db: string): Promise<boolean> {
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    `SELECT 1 FROM pg_database WHERE datname = ${pgLiteral(db)}`,
    MAINTENANCE_DB,
  );
  return rows.length > 0;
}

async function hasData(c: Connection): Promise<boolean> {
  const db = pgDatabase(c);
  if (!(await databaseExists(c, db))) return false;
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
  );
  return Number(rows[0]?.[0] ?? 0) > 0;
}

/**
 * Empties a database that a restore replaces (its previous contents are in the pre-restore
 * snapshot): every user schema dropped, large objects unlinked, `public` recreated with the
 * server's defaults. Objects a dump does not name would otherwise survive or block it.
 */
function clearSql(serverMajor: number): string {
  const publicSchema =
    serverMajor >= 15
      ? 'CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;'
      : 'CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC;';
  return `DO $hoard$ DECLARE s name; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  PERFORM lo_unlink(oid) FROM pg_largeobject_metadata;
END $hoard$;
${publicSchema}
COMMENT ON SCHEMA public IS 'standard public schema';
`;
}

/**
 * Loads a dump all or nothing. With a role that may create databases (staging.ts) the dump loads
 * into a fresh staging database, statement by statement (no lock-table limit), and is switched in
 * only when it loaded to the end; without one, plain and custom dumps load in place in one psql
 * transaction (a few thousand tables may then exceed max_locks_per_transaction) and directory
 * dumps in place, not atomically. psql runs restricted to SQL, so a dump's meta-command fails the
 * restore with kind "corrupt" (exit 5) before anything is switched or committed, and a psql too
 * old for that refuses with kind "tool" (exit 4) before anything is changed. Directory dumps load
 * with pg_restore -j N (no psql, no meta-commands).
 */
async function restore(c: Connection, input: AsyncIterable<Buffer> | string, o: RestoreIntoOptions): Promise<void> {
  const db = pgDatabase(c);
  const { major } = await serverMajor(c, MAINTENANCE_DB);
  const t = await pgTools(major, process.env);
  const streamed = (o.format === 'sql' || o.format === 'custom') && typeof input !== 'string';
  if (!streamed && !(o.format === 'directory' && typeof input === 'string'))
    throw new HoardError('usage', `PostgreSQL cannot restore a ${o.format} dump this way`);
  if (streamed) await requireRestrictMode(t.bin('psql'));
  const psql = t.bin('psql');
  if (!(await canStage(psql, c))) return restoreInPlace(c, t, input, o, major);
  const exists = await databaseExists(c, db);
  const staging = stagingName();
  const into = { ...c, database: staging };
  // a new target takes the dump's encoding; a converter starts only when its output is read at once
  // (node discards a child's stdout that nobody reads when the child exits)
  let encoding: string | null = null;
  let load: () => Promise<void>;
  if (typeof input === 'string') {
    if (!exists) encoding = dumpEncoding(await captureTool([t.bin('pg_restore'), '-l', input], { env: pgEnv(c) }));
    load = () => pgRestoreDir(t, into, input, o);
  } else if (!exists) {
    const source = convert(t, c, input, o);
    const peeked = await peekHead(source.stream);
    encoding = dumpEncoding(peeked.head);
    load = () => psqlLoad(t, into, peeked.stream, '', source.done, o, false);
  } else {
    load = () => {
      const source = convert(t, c, input, o);
      return psqlLoad(t, into, source.stream, '', source.done, o, false);
    };
  }
  await createStaging(psql, c, staging, exists ? db : null, encoding);
  try {
    await load();
    await switchIn(psql, c, staging, db);
  } catch (e) {
    await dropDatabase(psql, c, staging).catch(() => undefined);
    throw e;
  }
}

/** A custom dump becomes SQL through pg_restore -f - (then restricted like a plain one). */
function convert(t: PgTools, c: Connection, input: AsyncIterable<Buffer>, o: RestoreIntoOptions) {
  if (o.format !== 'custom') return { stream: input, done: undefined };
  const run = runTool([t.bin('pg_restore'), '-w', '--exit-on-error', '-f', '-'], {
    env: pgEnv(c),
    stdin: input,
    signal: o.signal,
  });
  return { stream: run.stdout as AsyncIterable<Buffer>, done: run.done };
}

/** The first bytes of a stream (up to 64 KiB, enough for pg_dump's SET lines) and the whole stream again. */
async function peekHead(stream: AsyncIterable<Buffer>): Promise<{ head: string; stream: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  while (size < 65536) {
    const next = await it.next();
    if (next.done) break;
    taken.push(next.value);
    size += next.value.length;
  }
  async function* again(): AsyncGenerator<Buffer> {
    yield* taken;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head: Buffer.concat(taken).toString('latin1', 0, 65536), stream: again() };
}

/** Feeds SQL to a restricted psql, in one transaction when `atomic`; a refusal names the dump's line. */
async function psqlLoad(
  t: PgTools,
  c: Connection,
  sql: AsyncIterable<Buffer>,
  prelude: string,
  after: Promise<void> | undefined,
  o: RestoreIntoOptions,
  atomic: boolean,
): Promise<void> {
  const { script, filter, offset } = restrictedScript(sql, prelude, after);
  const psql = [t.bin('psql'), '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', ...(atomic ? ['--single-transaction'] : [])];
  await drainTool([...psql, '-f', '-'], { env: pgEnv(c), stdin: script, signal: o.signal }).catch((e) => {
    throw namedFailure(
      refusalError(e, filter, offset, o.format === 'custom' ? 'of the SQL pg_restore made of it' : ''),
    );
  });
}

async function pgRestoreDir(t: PgTools, c: Connection, dir: string, o: RestoreIntoOptions): Promise<void> {
  // an empty --dbname: libpq takes the name from PGDATABASE (a name here would be parsed as a connection string)
  await drainTool([t.bin('pg_restore'), '-w', '--exit-on-error', `--jobs=${o.jobs ?? 2}`, '--dbname=', dir], {
    env: pgEnv(c),
    signal: o.signal,
  }).catch((e) => {
    throw namedFailure(e);
  });
}

/** The in-place restore of a role that may not create databases (see restore). */
async function restoreInPlace(
  c: Connection,
  t: PgTools,
  input: AsyncIterable<Buffer> | string,
  o: RestoreIntoOptions,
  major: number,
): Promise<void> {
  const db = pgDatabase(c);
  if (!(await databaseExists(c, db))) await pgQuery(t.bin('psql'), c, `CREATE DATABASE ${pgIdent(db)}`, MAINTENANCE_DB);
  const clear = o.replace ? clearSql(major) : '';
  if (typeof input !== 'string') {
    const source = convert(t, c, input, o);
    return psqlLoad(t, c, source.stream, clear, source.done, o, true);
  }
  if (clear)
    await captureTool([t.bin('psql'), '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-c', clear], {
      env: pgEnv(c),
      signal: o.signal,
    });
  await pgRestoreDir(t, c, input, o).catch((e) => {
    throw isHoardError(e) ? new HoardError(e.kind, e.message, { ...e, context: { ...e.context, partial: true } }) : e;
  });
}

/** A load that ran out of locks says which setting or privilege avoids it; other failures stay as they are. */
function namedFailure(e: unknown): unknown {
  if (!isHoardError(e) || !/out of shared memory|max_locks_per_transaction/.test(e.message)) return e;
  return new HoardError(
    e.kind,
    `${e.message.split(' | HINT')[0]}: the dump holds more objects than one transaction may lock on this server`,
    {
      hint: 'let the restoring role create databases (ALTER ROLE … CREATEDB), so hoard restores through a staging database, or raise max_locks_per_transaction',
      context: e.context,
    },
  );
}

async function listDatabases(c: Connection): Promise<string[]> {
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    'SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1',
    MAINTENANCE_DB,
  );
  return rows.map((r) => r[0]!);
}

async function dumpGlobals(c: Connection, signal?: AbortSignal): Promise<DumpStream> {
  const t = await tools(c, MAINTENANCE_DB);
  const run = runTool([t.bin('pg_dumpall'), '--no-password', '--globals-only', '-l', MAINTENANCE_DB], {
    env: pgEnv(c),
    signal,
  });
  return { name: 'globals.sql', stream: run.stdout, done: run.done };
}

const scratch: ScratchDatabases = {
  exists: databaseExists,
  async drop(c, name) {
    await dropDatabase(await anyPsql(process.env), c, name);
  },
  async list(c, prefix) {
    const like = prefix.replace(/[\\%_]/g, (x) => `\\${x}`);
    return (
      await pgQuery(
        await anyPsql(process.env),
        c,
        `SELECT datname FROM pg_database WHERE datname LIKE ${pgLiteral(`${like}%`)} ORDER BY 1`,
        MAINTENANCE_DB,
      )
    ).map((r) => r[0]!);
  },
};

export const postgres: DatabaseEngine = {
  engine: 'postgres',
  formats: ['sql', 'custom', 'directory'],
  name: pgDatabase,
  fileName,
  probe,
  sql,
  snapshot,
  dump,
  hasData,
  restore,
  listDatabases,
  dumpGlobals,
  scratch,
  async changeToken(c) {
    const [r] = await pgQuery(
      await anyPsql(process.env),
      c,
      'SELECT tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()',
    );
    return (r ?? []).join(':');
  },
};
