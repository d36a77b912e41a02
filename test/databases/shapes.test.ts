/**
 * Databases as users have them, on servers with default settings: thousands of PostgreSQL tables
 * (more than one transaction may lock), a MariaDB row of 100 MB, each backed up, restored (into a
 * new database, then over it) and drilled; a restore stopped by the target server's packet limit
 * is named for what it is, never "cannot connect" (the dump's half-way failure: connection.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hoard } from '../helpers/services.js';
import { PG_URL, dropPg, needPostgres, pgDatabase, pgExec, uniqueName } from '../helpers/databases.js';
import { startMariadb } from '../helpers/mariadb-server.js';
import { repo } from './conformance.js';

const TABLES = Number(process.env.HOARD_SHAPES_TABLES ?? 2000);
const ROW_MB = Number(process.env.HOARD_SHAPES_ROW_MB ?? 100);

const must = async (env: NodeJS.ProcessEnv, args: string[]) => {
  // a drill queries each table on its own (three psql runs a table): 2,000 tables take minutes
  const r = await hoard(args, { env, timeoutMs: 900_000 });
  assert.equal(r.code, 0, `hoard ${args.join(' ')}: ${r.stderr}`);
  return r;
};
const leftovers = () =>
  pgExec(
    'postgres',
    "SELECT count(*) FROM pg_database WHERE datname LIKE 'hoard\\_staging\\_%' OR datname LIKE 'hoard\\_drill\\_%'",
  );

describe('database shapes on default servers', () => {
  it(`PostgreSQL: ${TABLES} tables restore (new and over an existing database) and drill; the database's settings and grants survive`, async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    for (let from = 1; from <= TABLES; from += 500) {
      // a batch per transaction: creating them all at once would itself overflow the lock table
      await pgExec(
        db,
        `DO $$ BEGIN FOR i IN ${from}..${Math.min(from + 499, TABLES)} LOOP
          EXECUTE format('CREATE TABLE t%s (id serial PRIMARY KEY, v text)', i);
          EXECUTE format('INSERT INTO t%s (v) VALUES (%L)', i, 'row of ' || i);
        END LOOP; END $$`,
      );
    }
    await must(env, ['backup', '--db', `${PG_URL}/${db}`]);
    const target = uniqueName();
    t.after(() => dropPg(target));
    await must(env, ['restore', 'latest', '--target', `${PG_URL}/${target}`, '--yes']);
    const count = `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`;
    assert.equal(await pgExec(target, count), String(TABLES));
    assert.equal(await pgExec(target, `SELECT v FROM t${TABLES}`), `row of ${TABLES}`);

    // over the restored database: switched in whole, keeping what belongs to the database itself
    await pgExec(
      'postgres',
      `ALTER DATABASE ${target} SET work_mem = '7MB'; REVOKE TEMPORARY ON DATABASE ${target} FROM PUBLIC`,
    );
    await pgExec(target, 'DROP TABLE t1; CREATE TABLE stray (x int)');
    const again = await must(env, ['restore', 'latest', '--target', `${PG_URL}/${target}`, '--yes']);
    assert.match(again.stdout + again.stderr, /pre-restore snapshot/);
    assert.equal(await pgExec(target, count), String(TABLES));
    assert.equal(await pgExec(target, "SELECT to_regclass('stray') IS NULL"), 't');
    assert.equal(await pgExec(target, 'SHOW work_mem'), '7MB');
    assert.equal(await pgExec(target, "SELECT has_database_privilege('public', current_database(), 'TEMPORARY')"), 'f');

    const snaps = JSON.parse((await must(env, ['snapshots', '--json'])).stdout) as { id: string; tags?: string[] }[];
    const first = snaps.find((s) => !s.tags?.some((x) => x.includes('pre-restore')))!;
    await must(env, ['verify', first.id, '--drill', '--drill-server', `${PG_URL}/${db}`]);
    assert.equal(await leftovers(), '0');
  });

  it(`MariaDB: a ${ROW_MB} MB row backs up, restores and drills; a target server's smaller packet limit is named`, async (t) => {
    if (!(await needPostgres(t))) return; // the suite's gate: services are required together
    const server = await startMariadb(t, ['--max-allowed-packet=1G']);
    const { env } = await repo(t);
    // bytes that a dump must escape (NUL, newline, backslash, quote) plus a marker at the end
    await server.exec(
      `CREATE DATABASE shop; CREATE TABLE shop.b (id int PRIMARY KEY, data longblob);
       INSERT INTO shop.b VALUES (1, CONCAT(REPEAT(UNHEX('00FF0A5C27'), ${ROW_MB * 209715}), 'end')), (2, 'small')`,
    );
    const sum = 'SELECT GROUP_CONCAT(id, ":", LENGTH(data), ":", MD5(data) ORDER BY id) FROM b';
    const before = await server.exec(sum, 'shop');
    await must(env, ['backup', '--db', `${server.url}/shop`]);
    await must(env, ['restore', 'latest', '--target', `${server.url}/shop_r`, '--yes']);
    assert.equal(await server.exec(sum, 'shop_r'), before);
    await must(env, ['verify', 'latest', '--drill', '--drill-server', `${server.url}/shop`]);

    // the target now accepts less than the row: the restore fails at that statement and says why
    await server.exec('SET GLOBAL max_allowed_packet = 16777216');
    const load = await hoard(['restore', 'latest', '--target', `${server.url}/shop_n`, '--yes'], { env });
    assert.notEqual(load.code, 0);
    assert.notEqual(load.code, 3, load.stderr);
    assert.match(load.stderr, /too large/);
    assert.match(load.stderr, /max_allowed_packet/);
  });
});
