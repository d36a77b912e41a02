/**
 * The real PostgreSQL and MariaDB servers on this machine, for tests: availability (skip, or fail
 * under HOARD_TEST_REQUIRE_SERVICES=1), databases with unique names dropped after each test, and
 * SQL through the servers' own clients.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { REQUIRE, run } from './services.js';

export const PG_URL = process.env.HOARD_TEST_PG_URL ?? 'postgres://127.0.0.1:5432';
export const MY_URL = process.env.HOARD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

const seen = new Map<string, boolean>();

async function need(t: TestContext, name: string, probe: () => Promise<boolean>, hint: string): Promise<boolean> {
  if (!seen.has(name)) seen.set(name, await probe());
  if (seen.get(name)) return true;
  if (REQUIRE) throw new Error(`${name} is not reachable but HOARD_TEST_REQUIRE_SERVICES=1 (${hint})`);
  t.skip(`${name} is not reachable (${hint})`);
  return false;
}

export const needPostgres = (t: TestContext) =>
  need(
    t,
    'PostgreSQL',
    async () => (await psql('postgres', 'SELECT 1')).code === 0,
    'start it: pg_ctlcluster $(ls /etc/postgresql) main start',
  );
export const needMariadb = (t: TestContext) =>
  need(
    t,
    'MariaDB',
    async () => (await mariadb(null, 'SELECT 1')).code === 0,
    'start it: start-stop-daemon --start --background --exec /usr/sbin/mariadbd',
  );

export function uniqueName(prefix = 'hoard_t'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * psql as the test user on the loopback server; ON_ERROR_STOP, unaligned, tuples only. The name
 * goes in PGDATABASE: given with -d, a name holding "=" would be read as a connection string.
 */
export function psql(db: string, sql: string) {
  return run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1'], {
    input: sql,
    env: { PGDATABASE: db },
  });
}

/** The MariaDB client as root on the loopback server; the name as --database= (a name may look like an option). */
export function mariadb(db: string | null, sql: string) {
  return run(
    'mariadb',
    [
      '-h',
      '127.0.0.1',
      '-u',
      'root',
      '-N',
      '-B',
      '--default-character-set=utf8mb4',
      ...(db ? [`--database=${db}`] : []),
    ],
    { input: sql },
  );
}

/** Runs SQL and fails the test with the server's message when it fails. */
export async function pgExec(db: string, sql: string): Promise<string> {
  const r = await psql(db, sql);
  if (r.code !== 0) throw new Error(`psql ${db}: ${r.stderr}`);
  return r.stdout.trim();
}

export async function myExec(db: string | null, sql: string): Promise<string> {
  const r = await mariadb(db, sql);
  if (r.code !== 0) throw new Error(`mariadb ${db}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A fresh PostgreSQL database, dropped (with its connections) after the test. */
export async function pgDatabase(t: TestContext, name = uniqueName()): Promise<string> {
  await pgExec('postgres', `CREATE DATABASE ${name}`);
  t.after(() => dropPg(name));
  return name;
}

export async function dropPg(name: string): Promise<void> {
  await psql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export async function myDatabase(t: TestContext, name = uniqueName()): Promise<string> {
  await myExec(null, `CREATE DATABASE ${name}`);
  t.after(() => dropMy(name));
  return name;
}

export async function dropMy(name: string): Promise<void> {
  await mariadb(null, `DROP DATABASE IF EXISTS ${name}`);
}
