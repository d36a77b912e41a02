/**
 * Database locations as users write them: postgres://user:pass@host:port/db (or postgresql://),
 * mysql:// or mariadb://, sqlite:PATH or a path to a SQLite file. Bad input gives kind "usage".
 */
import { HoardError, redact } from '../core/index.js';
import type { Connection } from './types.js';

const SCHEMES: Record<string, Connection['engine']> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
};

export function parseDatabaseUrl(text: string): Connection {
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new HoardError('usage', 'sqlite: needs a path, e.g. sqlite:data/app.db');
    return { engine: 'sqlite', path };
  }
  const m = /^([a-z]+):\/\//.exec(text);
  if (!m) return { engine: 'sqlite', path: text };
  const engine = SCHEMES[m[1]];
  if (!engine)
    throw new HoardError('usage', `unknown database URL scheme ${m[1]}:`, {
      hint: 'use postgres://, mysql://, mariadb:// or sqlite:PATH',
    });
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new HoardError('usage', `cannot parse the database URL ${redactUrl(text)}`, {
      hint: 'the form is postgres://user:password@host:5432/dbname',
    });
  }
  // a malformed %-escape is named by part only: the password must not reach a message
  const dec = (s: string, part: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HoardError('usage', `the database URL ${redactUrl(text)} has a malformed %-escape in its ${part}`, {
        hint: 'write % as %25 (and @ as %40, : as %3A) in user names, passwords and database names',
      });
    }
  };
  const database = dec(u.pathname.replace(/^\//, ''), 'database name');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // [::1] → ::1, as libpq and the MySQL client want it
  const c: Connection = { engine, host: host || undefined, database: database || undefined };
  if (u.port) c.port = Number(u.port);
  if (u.username) c.user = dec(u.username, 'user name');
  if (u.password) c.password = dec(u.password, 'password');
  if ([...u.searchParams.keys()].length) c.options = Object.fromEntries(u.searchParams);
  return c;
}

/** The text with any password replaced by "***" (for messages and metadata): core's redact(). */
export function redactUrl(text: string): string {
  return redact(text);
}

/** A description of `c` without the password, e.g. "postgres://app@127.0.0.1:5432/shop". */
export function describe(c: Connection): string {
  if (c.engine === 'sqlite') return `sqlite:${c.path}`;
  const auth = c.user ? `${encodeURIComponent(c.user)}@` : '';
  const host = c.host?.includes(':') ? `[${c.host}]` : (c.host ?? 'localhost');
  return `${c.engine}://${auth}${host}${c.port ? `:${c.port}` : ''}/${c.database ? encodeURIComponent(c.database) : ''}`;
}
