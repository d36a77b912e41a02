/**
 * Facts beyond row counts: each table's newest key (a serial or time primary key) and, with
 * `verify.checksums: true`, a checksum of its rows, taken in the dump's snapshot (PostgreSQL), the
 * copy (SQLite) or before and after the dump (MariaDB). A dump whose counts are right but whose
 * last id or one value was changed passes the read-back and fails the drill, naming the table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import {
  MY_URL,
  PG_URL,
  myDatabase,
  myExec,
  needMariadb,
  needPostgres,
  pgDatabase,
  pgExec,
} from '../helpers/databases.js';

type Check = { name: string; ok: boolean; message: string };
type Result = { ok: boolean; message: string; checks: Check[] };

async function project(t: import('node:test').TestContext, sources: string): Promise<string> {
  const dir = await tempDir(t, 'hoard-facts-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
  const file = path.join(dir, 'hoard.yaml');
  await writeFile(
    file,
    `${(await readFile(file, 'utf8')).replace('sources:\n', `sources:\n${sources}`)}verify:\n  checksums: true\n`,
  );
  return dir;
}

/** A pg_dump that pipes its plain output through `sed EXPR`, beside the real psql and pg_restore. */
async function sedDump(dir: string, name: string, expr: string): Promise<string> {
  const major = (await readdir('/usr/lib/postgresql')).map(Number).sort((a, b) => b - a)[0];
  const real = `/usr/lib/postgresql/${major}/bin`;
  const fake = path.join(dir, name);
  await mkdir(fake);
  await writeFile(
    path.join(fake, 'pg_dump'),
    `#!/bin/sh\ncase "$*" in *--version*) exec ${real}/pg_dump "$@";; esac\n${real}/pg_dump "$@" | sed '${expr}'\n`,
  );
  await chmod(path.join(fake, 'pg_dump'), 0o755);
  for (const tool of ['psql', 'pg_restore', 'pg_dumpall']) await symlink(path.join(real, tool), path.join(fake, tool));
  return fake;
}

describe('drill facts: newest keys and checksums', () => {
  it('PostgreSQL: a changed last id or one changed value fails the drill though the counts match', async (t) => {
    if (!(await needPostgres(t))) return;
    const db = await pgDatabase(t);
    await pgExec(
      db,
      `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g;
      CREATE TABLE notes (body text); INSERT INTO notes VALUES ('no key here');`,
    );
    const dir = await project(t, '  shop: { type: postgres, url: "env:SHOP_URL" }\n');
    const env = { ...CLEAN_ENV, SHOP_URL: `${PG_URL}/${db}` };
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => hoard(args, { cwd: dir, env: { ...env, ...extra } });
    const drill = async (): Promise<{ code: number; r: Result }> => {
      const v = await run(['verify', '--latest', '--source', 'shop', '--drill', '--json']);
      return { code: v.code, r: JSON.parse(v.stdout.trim().split('\n')[0]) };
    };

    assert.equal((await run(['backup', 'shop'])).code, 0);
    const info = JSON.parse((await run(['info', 'latest', '--json'])).stdout);
    const orders = info.hoard.tables.find((x: { name: string }) => x.name === 'public.orders');
    assert.equal(orders.key, 'id');
    assert.equal(orders.newest, '500');
    assert.match(orders.checksum, /^\d+$/);
    assert.equal(info.hoard.tables.find((x: { name: string }) => x.name === 'public.notes').key, undefined);
    const good = await drill();
    assert.equal(good.code, 0, JSON.stringify(good.r));
    assert.ok(good.r.checks.some((c) => c.message === 'public.orders: 500 rows, id 1..500, checksum matches'));

    const lastId = await sedDump(dir, 'last-id', 's/^500\t/9999\t/');
    assert.equal((await run(['backup', 'shop'], { HOARD_PG_BINDIR: lastId })).code, 0);
    assert.equal((await run(['verify', '--latest', '--source', 'shop'])).code, 0, 'the read-back passes');
    const bad = await drill();
    assert.equal(bad.code, 5);
    assert.equal(bad.r.message, 'table public.orders: newest id 9999 restored, 500 at backup');

    const oneValue = await sedDump(dir, 'one-value', 's/^7\t[0-9a-f]/7\tX/');
    assert.equal((await run(['backup', 'shop'], { HOARD_PG_BINDIR: oneValue })).code, 0);
    const changed = await drill();
    assert.equal(changed.code, 5);
    assert.match(
      changed.r.message,
      /^table public\.orders: its rows differ from the backup's \(checksum \d+, \d+ at backup\)$/,
    );
  });

  it('SQLite and MariaDB: keys and checksums are recorded and a good drill matches them', async (t) => {
    const mariadb = await needMariadb(t);
    const mydb = mariadb ? await myDatabase(t) : '';
    if (mariadb)
      await myExec(
        mydb,
        'CREATE TABLE items (id INT PRIMARY KEY, name TEXT); INSERT INTO items SELECT seq, md5(seq) FROM seq_1_to_300;',
      );
    const dir = await project(t, mariadb ? '  my: { type: mysql, url: "env:MY_DB_URL" }\n' : '');
    const env = { ...CLEAN_ENV, MY_DB_URL: `${MY_URL}/${mydb}` };
    const run = (args: string[]) => hoard(args, { cwd: dir, env });
    for (const source of mariadb ? ['app', 'my'] : ['app']) {
      assert.equal((await run(['backup', source])).code, 0);
      const id = (JSON.parse((await run(['list', '--source', source, '--json'])).stdout) as { id: string }[]).pop()!.id;
      const info = JSON.parse((await run(['info', id, '--json'])).stdout);
      const tables = info.hoard.tables as { name: string; key?: string; checksum?: string }[];
      assert.ok(tables.length > 0 && tables.every((x) => typeof x.checksum === 'string'), JSON.stringify(tables));
      assert.ok(
        tables.some((x) => x.key !== undefined),
        JSON.stringify(tables),
      );
      const v = await run(['verify', '--latest', '--source', source, '--drill', '--json']);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      const r = JSON.parse(v.stdout.trim().split('\n')[0]) as Result;
      assert.ok(
        r.checks.some((c) => c.message.endsWith('checksum matches')),
        JSON.stringify(r.checks),
      );
    }
  });
});
