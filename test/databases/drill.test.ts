/**
 * Restore drills on the real servers: a good backup passes; a dump that lacks a table passes the
 * read-back but fails the drill, which says what differs; the real database is never touched (it
 * is read-only during the drill and its canary row is unchanged); a drill killed mid-way leaves a
 * scratch database that the next drill removes; and no server, an existing target name or a role
 * that may not create databases are clear errors that change nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdirSync, symlink, writeFile } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { CLI, hoard } from '../helpers/services.js';
import {
  MY_URL,
  PG_URL,
  myDatabase,
  myExec,
  needMariadb,
  needPostgres,
  pgDatabase,
  pgExec,
  uniqueName,
} from '../helpers/databases.js';
import { repo } from './conformance.js';

const mkdirP = promisify(mkdir),
  writeP = promisify(writeFile),
  chmodP = promisify(chmod),
  symlinkP = promisify(symlink);

async function appDb(t: import('node:test').TestContext): Promise<string> {
  const db = await pgDatabase(t);
  await pgExec(
    db,
    `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g;
    CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 40) g;
    CREATE TABLE canary (v text); INSERT INTO canary VALUES ('untouched');`,
  );
  return db;
}

const scratchDbs = async () =>
  (await pgExec('postgres', "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'hoard\\_drill\\_%'"))
    .split(',')
    .filter(Boolean);

type Verify = {
  ok: boolean;
  message: string;
  checks: { name: string; ok: boolean; message: string }[];
  leftovers_removed: string[];
};
const verify = async (env: NodeJS.ProcessEnv, args: string[]) => {
  const r = await hoard(['verify', '--json', ...args], { env });
  return {
    code: r.code,
    stderr: r.stderr,
    results: r.stdout.trim()
      ? r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Verify)
      : [],
  };
};

describe('restore drills', () => {
  it('PostgreSQL: passes on a read-only source, never touching it, and leaves no scratch database', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await appDb(t);
    assert.equal((await hoard(['backup', '--db', `${PG_URL}/${db}`, '--format', 'custom'], { env })).code, 0);
    await pgExec('postgres', `ALTER DATABASE ${db} SET default_transaction_read_only = on`);
    const r = await verify(env, [
      '--latest',
      '--drill',
      '--drill-server',
      `${PG_URL}/${db}`,
      '--sql',
      'SELECT count(*) = 40 FROM users',
    ]);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.results));
    const checks = r.results[0].checks.map((c) => c.message);
    assert.ok(
      checks.some((m) => /^public\.orders: 500 rows, id 1\.\.500$/.test(m)),
      checks.join('\n'),
    );
    assert.ok(checks.some((m) => /^SELECT count\(\*\) = 40 FROM users: t$/.test(m)));
    assert.equal(await pgExec(db, 'SELECT v FROM canary'), 'untouched');
    assert.equal(await pgExec(db, 'SELECT count(*) FROM orders'), '500');
    // the name this drill used (other tests' drills may run at the same time: count none of theirs)
    const used = /into the scratch database (hoard_drill_\w+)$/.exec(
      r.results[0].checks.find((c) => c.name === 'restore')?.message ?? '',
    )?.[1];
    assert.ok(used, 'the drill names its scratch database');
    assert.ok(!(await scratchDbs()).includes(used!), 'the scratch database is gone');
    const bad = await verify(env, [
      '--latest',
      '--drill',
      '--drill-server',
      `${PG_URL}/${db}`,
      '--sql',
      'SELECT count(*) = 41 FROM users',
    ]);
    assert.equal(bad.code, 5);
    assert.match(bad.results[0].message, /SELECT count\(\*\) = 41 FROM users returned f/);
  });

  it('PostgreSQL: a dump that leaves out a table or its rows passes the read-back and fails the drill (sql, custom, directory), naming both counts', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = await appDb(t);
    const major = readdirSync('/usr/lib/postgresql')
      .map(Number)
      .sort((a, b) => b - a)[0];
    const real = `/usr/lib/postgresql/${major}/bin`;
    const wrapper = async (name: string, flag: string) => {
      const fake = path.join(dir, name);
      await mkdirP(fake);
      await writeP(path.join(fake, 'pg_dump'), `#!/bin/sh\nexec ${real}/pg_dump "$@" ${flag}\n`);
      await chmodP(path.join(fake, 'pg_dump'), 0o755);
      for (const tool of ['psql', 'pg_restore', 'pg_dumpall'])
        await symlinkP(path.join(real, tool), path.join(fake, tool));
      return fake;
    };
    const noRows = await wrapper('no-rows', '--exclude-table-data=public.orders');
    const noTable = await wrapper('no-table', '--exclude-table=public.orders');
    const cases = [
      { bin: noRows, format: 'sql', says: 'table public.orders: 0 rows restored, 500 at backup; the dump held 0' },
      { bin: noRows, format: 'custom', says: 'table public.orders: 0 rows restored, 500 at backup' },
      { bin: noRows, format: 'directory', says: 'table public.orders: 0 rows restored, 500 at backup' },
      { bin: noTable, format: 'custom', says: 'table public.orders: missing after restore, 500 rows at backup' },
    ];
    for (const c of cases) {
      const b = await hoard(['backup', '--db', `${PG_URL}/${db}`, '--format', c.format], {
        env: { ...env, HOARD_PG_BINDIR: c.bin },
      });
      assert.equal(b.code, 0, b.stderr);
      const rb = await verify(env, ['--latest']);
      assert.equal(rb.code, 0, 'every blob reads back: the dump is intact as stored');
      const dr = await verify(env, ['--latest', '--drill', '--drill-server', `${PG_URL}/${db}`]);
      assert.equal(dr.code, 5, `${c.format}: ${dr.stderr}`);
      assert.equal(dr.results[0].message, c.says, c.format);
    }
    const table = await hoard(['list'], { env });
    assert.match(
      table.stdout,
      /FAILED drill \d+ s ago: table public\.orders: missing after restore, 500 rows at backup/,
    );
  });

  it('PostgreSQL: a drill killed mid-way leaves its scratch database; the next drill removes it', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await appDb(t);
    assert.equal((await hoard(['backup', '--db', `${PG_URL}/${db}`], { env })).code, 0);
    const before = new Set(await scratchDbs());
    const child = spawn(
      process.execPath,
      [
        CLI,
        'verify',
        '--latest',
        '--drill',
        '--drill-server',
        `${PG_URL}/${db}`,
        '--sql',
        'SELECT pg_sleep(20) IS NOT NULL',
      ],
      { env: { ...process.env, ...env }, stdio: 'ignore' },
    );
    let left: string[] = [];
    for (let i = 0; i < 200 && !left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await scratchDbs()).filter((x) => !before.has(x) && x.startsWith(`hoard_drill_${child.pid}_`));
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    assert.equal(left.length, 1, 'the drill had created its scratch database');
    assert.ok((await scratchDbs()).includes(left[0]), 'kill -9 left it behind');
    const r = await verify(env, ['--latest', '--drill', '--drill-server', `${PG_URL}/${db}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.results[0].leftovers_removed.includes(left[0]), JSON.stringify(r.results[0].leftovers_removed));
    assert.ok(!(await scratchDbs()).includes(left[0]));
  });

  it('PostgreSQL bad input: no server (exit 3), an existing target (exit 1), a role that may not create databases (exit 3); nothing changed', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await appDb(t);
    assert.equal((await hoard(['backup', '--db', `${PG_URL}/${db}`], { env })).code, 0);
    const down = await hoard(['verify', '--latest', '--drill', '--drill-server', 'postgres://127.0.0.1:1/postgres'], {
      env,
    });
    assert.equal(down.code, 3, down.stderr);
    const exists = await hoard(
      ['verify', '--latest', '--drill', '--drill-target', db, '--drill-server', `${PG_URL}/${db}`],
      { env },
    );
    assert.equal(exists.code, 1, exists.stderr);
    assert.match(exists.stderr, new RegExp(`the drill target ${db} already exists; nothing was changed`));
    const role = uniqueName('hoard_nocreate');
    await pgExec('postgres', `CREATE ROLE ${role} LOGIN NOCREATEDB`);
    t.after(() => pgExec('postgres', `DROP ROLE IF EXISTS ${role}`));
    const denied = await hoard(
      ['verify', '--latest', '--drill', '--drill-server', `postgres://${role}@127.0.0.1:5432/postgres`],
      { env },
    );
    assert.equal(denied.code, 3, denied.stderr);
    assert.match(denied.stderr, /may not create the scratch database hoard_drill_\d+_[0-9a-f]+/);
    assert.match(denied.stderr, /CREATEDB/);
    assert.equal(await pgExec(db, 'SELECT v FROM canary'), 'untouched');
    assert.equal(await pgExec(db, 'SELECT count(*) FROM orders'), '500');
  });

  it('a drill never dials the server a snapshot names: without a configured source or --drill-server it is refused, naming the URL', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await appDb(t);
    assert.equal((await hoard(['backup', '--db', `${PG_URL}/${db}`], { env })).code, 0);
    // spawned here to know its pid: the scratch names it could make start with it (other tests drill meanwhile)
    const child = spawn(process.execPath, [CLI, 'verify', '--latest', '--drill'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 1, stderr);
    assert.match(stderr, /a drill server is never taken from the repository; nothing was drilled/);
    assert.match(stderr, new RegExp(`--drill-server postgres://127\\.0\\.0\\.1:5432/${db}`));
    assert.ok(
      !(await scratchDbs()).some((x) => x.startsWith(`hoard_drill_${child.pid}_`)),
      'it made no scratch database',
    );
  });

  it('MariaDB: passes, and its scratch database is gone afterwards', async (t) => {
    if (!(await needMariadb(t))) return;
    const { env } = await repo(t);
    const db = await myDatabase(t);
    await myExec(
      db,
      'CREATE TABLE items (id INT PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, "a"), (2, "b"), (7, "c");',
    );
    assert.equal((await hoard(['backup', '--db', `${MY_URL}/${db}`], { env })).code, 0);
    const r = await verify(env, ['--latest', '--drill', '--drill-server', `${MY_URL}/${db}`]);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.results));
    assert.ok(
      r.results[0].checks.some((c) => /^items: 3 rows, `id` 1\.\.7$/.test(c.message)),
      JSON.stringify(r.results[0].checks),
    );
    assert.equal(
      await myExec(null, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'hoard\\_drill\\_%'"),
      '0',
    );
  });

  it("MariaDB: a dump that leaves out a table's rows passes the read-back and fails the drill, naming both counts", async (t) => {
    if (!(await needMariadb(t))) return;
    const { env, dir } = await repo(t);
    const db = await myDatabase(t);
    await myExec(
      db,
      'CREATE TABLE orders (id INT PRIMARY KEY, item TEXT); INSERT INTO orders SELECT seq, md5(seq) FROM seq_1_to_5001;',
    );
    const fake = path.join(dir, 'fake-bin');
    await mkdirP(fake);
    const real = (await import('node:child_process'))
      .execFileSync('sh', ['-c', 'command -v mariadb-dump'])
      .toString()
      .trim();
    // the first argument (--no-defaults) must stay first
    await writeP(
      path.join(fake, 'mariadb-dump'),
      `#!/bin/sh\nfirst="$1"; shift\nexec ${real} "$first" --ignore-table-data=${db}.orders "$@"\n`,
    );
    await chmodP(path.join(fake, 'mariadb-dump'), 0o755);
    const b = await hoard(['backup', '--db', `${MY_URL}/${db}`], {
      env: { ...env, PATH: `${fake}:${process.env.PATH}` },
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await verify(env, ['--latest'])).code, 0);
    const dr = await verify(env, ['--latest', '--drill', '--drill-server', `${MY_URL}/${db}`]);
    assert.equal(dr.code, 5, dr.stderr);
    assert.equal(dr.results[0].message, 'table orders: 0 rows restored, 5,001 at backup; the dump held 0');
  });

  it('MariaDB: counts are bounds taken before and after the dump, and a drill within them passes', async (t) => {
    if (!(await needMariadb(t))) return;
    const { env } = await repo(t);
    const db = await myDatabase(t);
    await myExec(db, 'CREATE TABLE ticks (id INT AUTO_INCREMENT PRIMARY KEY); INSERT INTO ticks VALUES (), (), ();');
    const r = await hoard(['backup', '--db', `${MY_URL}/${db}`, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const info = await hoard(['info', JSON.parse(r.stdout).snapshot_id, '--json'], { env });
    const h = JSON.parse(info.stdout).hoard ?? JSON.parse(info.stdout);
    assert.equal(h.rows_counted, 'bounds', info.stdout);
    assert.deepEqual(h.tables, [
      { name: 'ticks', rows: 3, rows_after: 3, dump_rows: 3, key: 'id', newest: '3', newest_after: '3' },
    ]);
    assert.equal((await verify(env, ['--latest', '--drill', '--drill-server', `${MY_URL}/${db}`])).code, 0);
  });
});
