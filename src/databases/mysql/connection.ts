/**
 * How hoard reaches a MySQL or MariaDB server: the MariaDB tools when present (mariadb,
 * mariadb-dump), else MySQL's (mysql, mysqldump); host, port and user as flags, the password only
 * as MYSQL_PWD in the tool's environment, the database as --database=NAME (a name like `--help` is
 * no option then). Option files are not read (--no-defaults): a [client] password in ~/.my.cnf
 * would go to any host; the URL's `defaults_file` names one to read instead. Failures to connect
 * become kind "db-connection" (exit 3).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { HoardError, isHoardError } from '../../core/index.js';
import { captureTool, toolEnv } from '../process.js';
import { describe } from '../url.js';
import type { Connection, TableRef } from '../types.js';

/** The first of `names` found on PATH; kind "tool" (exit 4) when none is. */
export function findTool(names: string[]): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    for (const n of names) if (dir && existsSync(path.join(dir, n))) return path.join(dir, n);
  }
  throw new HoardError('tool', `${names.join(' or ')} is not installed`, {
    hint: 'install the MariaDB client: apt-get install mariadb-client',
  });
}

export const client = () => findTool(['mariadb', 'mysql']);
export const dumper = () => findTool(['mariadb-dump', 'mysqldump']);

/** The tools' environment: the connection's password as MYSQL_PWD, none of our MYSQL_* variables (see toolEnv). */
export function myEnv(c: Connection): NodeJS.ProcessEnv {
  return toolEnv({ MYSQL_PWD: c.password });
}

/** Which option files a tool reads: none, or the URL's `defaults_file`. The tools want it as their first argument. */
export function optionFiles(c?: Connection): string {
  return c?.options?.defaults_file ? `--defaults-file=${c.options.defaults_file}` : '--no-defaults';
}

/** Connection flags (never the password), the option-file flag first. */
export function myArgs(c: Connection): string[] {
  // the client's largest packet (1 GiB, the protocol's limit): a row as large as the server holds fits, in a dump and in a restore
  const a = [optionFiles(c), '--default-character-set=utf8mb4', '--max-allowed-packet=1G'];
  if (c.host) a.push(`--host=${c.host}`);
  if (c.port) a.push(`--port=${c.port}`);
  if (c.user) a.push(`--user=${c.user}`);
  if (c.options?.socket) a.push(`--socket=${c.options.socket}`);
  return a;
}

export function myIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function myRef(t: TableRef): string {
  return myIdent(t.name);
}

export function myLiteral(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Undoes the batch-mode escapes of `mariadb -B` (\\t \\n \\0 \\\\). */
function unescapeBatch(v: string): string | null {
  if (v === 'NULL') return null;
  return v.replace(
    /\\(.)/g,
    (_, ch: string) => (({ t: '\t', n: '\n', '0': '\0', '\\': '\\' }) as Record<string, string>)[ch] ?? ch,
  );
}

/** Runs one query (on `database`, or on none when null); rows as text. */
export async function myQuery(
  c: Connection,
  sql: string,
  database: string | null = c.database ?? null,
): Promise<(string | null)[][]> {
  const argv = [client(), ...myArgs(c), '--batch', '--skip-column-names', '--execute', sql];
  if (database) argv.push(`--database=${database}`);
  let out: string;
  try {
    out = await captureTool(argv, { env: myEnv(c) });
  } catch (e) {
    throw myConnectionError(e, c);
  }
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t').map(unescapeBatch));
}

export function myConnectionError(e: unknown, c: Connection): unknown {
  if (!isHoardError(e, 'command-failed')) return e;
  const why = e.message.replace(/^\S+ exited with status \d+: /, '');
  const midDump = /when (?:dumping|retrieving data from server for) table (`(?:[^`]|``)*`)/i.exec(why);
  if (midDump) return dumpFailure(e, why, midDump[1]!, c);
  if (
    /ERROR (2002|2003|2005|2013|1045|1044|1049|1698)|Can't connect|Access denied|Unknown database|Unknown MySQL server host/i.test(
      why,
    )
  ) {
    return new HoardError('db-connection', `cannot connect to ${describe(c)}: ${why}`, {
      hint: 'check the host, port, user, password (MYSQL_PWD or the URL) and database name',
    });
  }
  return e;
}

/**
 * A dump that failed half-way, at a table: kind "command-failed" (exit 1), never "cannot connect".
 * With the client's packet at 1 GiB, a lost connection there is the server dropping it while it
 * sent that table (a timeout, a restart, a row above the protocol's limit).
 */
function dumpFailure(e: HoardError, why: string, table: string, c: Connection): HoardError {
  const lost = /\b2013\b|Lost connection|gone away/i.test(why);
  return new HoardError('command-failed', `the dump of ${describe(c)} failed at table ${table}: ${why}`, {
    hint: lost
      ? `the server dropped the connection while sending ${table} (a timeout such as net_write_timeout, a restart, or a row above 1 GiB): see the server's error log, then back up again; no snapshot was saved`
      : 'fix the cause above and back up again; no snapshot was saved',
    cause: e,
  });
}

/**
 * A restore the target server cut off, said so: refused as larger than its max_allowed_packet
 * (1153), or a connection it dropped (2006, 2013), which is how MariaDB answers such a statement
 * and also how a restart looks; other failures as they are.
 */
export function myRestoreError(e: unknown, c: Connection): unknown {
  if (!isHoardError(e, 'command-failed')) return e;
  const why = e.message.replace(/^\S+ exited with status \d+: /, '');
  const refused = /ERROR 1153\b|packet bigger than 'max_allowed_packet'/i.test(why);
  if (!refused && !/ERROR (2006|2013)\b|server has gone away|Lost connection/i.test(why))
    return myConnectionError(e, c);
  const what = refused
    ? 'refused a statement of the dump as too large'
    : 'dropped the connection during a statement of the dump, most likely one too large for its max_allowed_packet';
  return new HoardError('command-failed', `the target ${describe(c)} ${what}: ${why}`, {
    hint: 'raise max_allowed_packet on the target server (max_allowed_packet = 1G in its [mysqld] settings, or SET GLOBAL max_allowed_packet = 1073741824) and restore again; if it restarted instead, see its error log',
    cause: e,
  });
}
