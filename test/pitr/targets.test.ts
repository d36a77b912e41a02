/**
 * Restores to a transaction and to a name: `--xid` stops once that transaction committed,
 * `hoard wal mark NAME` makes a restore point (archived at once) that `--restore-point NAME`
 * stops at; a name the archive does not hold fails with exit 1 and says so; a time after the last
 * archived commit but before its segment closed recovers to the archive's end.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { freePort, needServer, startCluster } from '../helpers/pg-cluster.js';

test('a restore stops after a transaction id, or at a restore point hoard wal mark made', {
  timeout: 600_000,
}, async (t) => {
  if (!needServer(t)) return;
  const c = await startCluster(t);
  await c.sql('CREATE TABLE t (id serial PRIMARY KEY)');
  assert.equal((await c.hoard(['wal', 'base'])).code, 0);
  const xid = (await c.sql('INSERT INTO t SELECT FROM generate_series(1, 10); SELECT pg_current_xact_id()')).trim();
  assert.match(xid, /^\d+$/);
  await c.sql('INSERT INTO t SELECT FROM generate_series(1, 5)');
  const mark = await c.hoard(['wal', 'mark', "after 15 o'clock", '--json']);
  assert.equal(mark.code, 0, mark.stderr);
  await c.sql('INSERT INTO t SELECT FROM generate_series(1, 3)');
  await new Promise((r) => setTimeout(r, 100));
  const tail = new Date().toISOString(); // after the last commit, before its segment closed
  await new Promise((r) => setTimeout(r, 100));
  await c.switchAndWait();

  const count = async (flags: string[], name: string) => (await c.restored(flags, name, 'SELECT count(*) FROM t')).rows;
  assert.equal(await count(['--xid', xid], 'by-xid'), '10');
  assert.equal(await count(['--restore-point', "after 15 o'clock"], 'by-name'), '15');
  // no archived commit after the time: PostgreSQL stops short of it, hoard recovers to the archive's end
  const end = await c.restored(['--at', tail, '--json'], 'by-tail', 'SELECT count(*) FROM t');
  assert.equal(end.rows, '18');
  assert.equal(JSON.parse(end.out.stdout).end_of_archive, true);

  const none = await c.hoard([
    'restore',
    '--source',
    'pg',
    '--restore-point',
    'never-made',
    '--target',
    path.join(c.dir, 'none'),
    '--start',
    String(await freePort()),
  ]);
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.match(none.stderr, /holds no restore point never-made/);
  const bad = await c.hoard(['restore', '--source', 'pg', '--xid', '12; DROP', '--target', path.join(c.dir, 'bad')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--xid must be a transaction id/);
});
