/**
 * How hoard reaches a PostgreSQL server: PG* environment variables built from the Connection alone
 * (the password only as PGPASSWORD, never argv; the database name only as PGDATABASE, since libpq
 * reads a name given as an argument as a connection string when it holds "="), and psql for
 * queries. Failures to connect become kind "db-connection" (exit 3) with psql's own reason.
 */
import * as os from 'node:os';
import { HoardError, isHoardError } from '../../core/index.js';
import { captureTool, toolEnv } from '../process.js';
import { describe } from '../url.js';
import type { Connection, TableRef } from '../types.js';

/**
 * The environment for PostgreSQL tools: the connection's host, port, user, password, database,
 * `sslmode`, `host` (a socket folder) and `passfile` URL options, and nothing of our own PG*
 * variables (see toolEnv). libpq's default ~/.pgpass stays: its lines name host, port, database
 * and user, so they are configured per target.
 */
/** The database hoard connects to for server-wide statements (CREATE, DROP, RENAME DATABASE). */
export const MAINTENANCE_DB = 'postgres';

export function pgEnv(c: Connection, database?: string): NodeJS.ProcessEnv {
  const o = c.options ?? {};
  return toolEnv({
    PGAPPNAME: 'hoard',
    PGCONNECT_TIMEOUT: '10',
    PGHOST: o.host ?? c.host,
    PGPORT: c.port ? String(c.port) : undefined,
    PGUSER: c.user,
    PGPASSWORD: c.password,
    PGDATABASE: database ?? pgDatabase(c),
    PGSSLMODE: o.sslmode,
    PGPASSFILE: o.passfile,
  });
}

/**
 * The environment for hoard's own queries: pgEnv plus UTC and ISO dates, so that values read as
 * text (a newest timestamp, a row checksum) read the same at backup and in a drill's scratch
 * database, which does not inherit the source database's own `SET timezone`.
 */
export function pgQueryEnv(c: Connection, database?: string): NodeJS.ProcessEnv {
  return { ...pgEnv(c, database), PGTZ: 'UTC', PGDATESTYLE: 'ISO, YMD' };
}

/** The database a connection names: the URL's, else (as libpq) the user name, else the login name. */
export function pgDatabase(c: Connection): string {
  return c.database ?? c.user ?? loginName();
}

function loginName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'postgres';
  }
}

/** "name" quoted as a PostgreSQL identifier. */
export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function pgRef(t: TableRef): string {
  return t.schema ? `${pgIdent(t.schema)}.${pgIdent(t.name)}` : pgIdent(t.name);
}

/** A literal for SQL text. */
export function pgLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const FIELD = '\x1f';
const RECORD = '\x1e';
const NULL = '\x01';

/** psql's options for machine-read answers: unaligned, tuples only, fields and records split by control characters. */
export const PSQL_ROWS = [
  '-X',
  '-q',
  '-A',
  '-t',
  '-v',
  'ON_ERROR_STOP=1',
  '-F',
  FIELD,
  '-R',
  RECORD,
  '-P',
  `null=${NULL}`,
  '-w',
];

/** The rows of one answer printed with PSQL_ROWS, as text (NULL as null). */
export function psqlRows(out: string): (string | null)[][] {
  const text = out.replace(/\n$/, '');
  if (text === '') return [];
  return text.split(RECORD).map((r) => r.split(FIELD).map((v) => (v === NULL ? null : v)));
}

/** Runs one read-only query with psql; rows as text. */
export async function pgQuery(
  psql: string,
  c: Connection,
  sql: string,
  database?: string,
): Promise<(string | null)[][]> {
  let out: string;
  try {
    out = await captureTool([psql, ...PSQL_ROWS, '-c', sql], { env: pgQueryEnv(c, database) });
  } catch (e) {
    throw connectionError(e, c, database);
  }
  return psqlRows(out);
}

/** A failed psql turned into exit 3 (connection) or left as is (a query error). */
export function connectionError(e: unknown, c: Connection, database?: string): unknown {
  if (!isHoardError(e, 'command-failed')) return e;
  const why = e.message.replace(/^\S+ exited with status \d+: /, '').replace(/^psql: error: /, '');
  // only failures to connect (psql says "connection to server ... failed: FATAL: ..."); a query error stays as it is
  if (
    /connection to server|could not connect|could not translate host|timeout expired|no password supplied/i.test(why)
  ) {
    const where = describe({ ...c, database: database ?? pgDatabase(c) });
    return new HoardError('db-connection', `cannot connect to ${where}: ${why}`, {
      hint: 'check the host, port, user, password (PGPASSWORD or the URL) and database name',
    });
  }
  return e;
}
