/**
 * 3-2-1 for point-in-time recovery: `hoard copy --to offsite --source pg` carries base backups and
 * WAL like any snapshot; with the first repository gone, a restore from the copy (`-r offsite`)
 * fetches its WAL from the copy too (restore_command names it) and reaches the time asked for.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { PASSWORD, needServer, startCluster } from '../helpers/pg-cluster.js';

test('WAL and base backups copied to another repository restore from it alone', { timeout: 600_000 }, async (t) => {
  if (!needServer(t)) return;
  const c = await startCluster(t);
  const offsite = path.join(c.dir, 'offsite');
  const yaml = await fs.readFile(c.config, 'utf8');
  await fs.writeFile(
    c.config,
    yaml.replace('sources:\n', `  offsite: { url: ${offsite}, password: file:${c.dir}/pw }\nsources:\n`),
  );
  const init = await c.hoard(['init', '--repo', 'offsite'], { HOARD_PASSWORD: PASSWORD });
  assert.equal(init.code, 0, init.stderr);
  await c.sql('CREATE TABLE t (id serial PRIMARY KEY)');
  assert.equal((await c.hoard(['wal', 'base'])).code, 0);
  await c.sql('INSERT INTO t SELECT FROM generate_series(1, 10)');
  await new Promise((r) => setTimeout(r, 50));
  const at = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 50));
  await c.sql('INSERT INTO t SELECT FROM generate_series(1, 5)');
  await c.switchAndWait();

  const copy = await c.hoard(['copy', '--to', 'offsite', '--source', 'pg']);
  assert.equal(copy.code, 0, copy.stdout + copy.stderr);
  const here = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  const there = JSON.parse((await c.hoard(['wal', 'status', '--json', '-r', 'offsite'])).stdout);
  assert.deepEqual(there.timelines, here.timelines);
  assert.equal(there.base_backups.length, 1);

  // the first repository is gone: everything comes from the copy
  await c.pgCtl(['-m', 'fast', 'stop']);
  await fs.rename(c.repo, `${c.repo}.gone`);
  const r = await c.restored(['-r', 'offsite', '--at', at], 'restored', 'SELECT count(*) FROM t');
  assert.equal(r.rows, '10');
  assert.match(
    await fs.readFile(path.join(r.target, 'postgresql.auto.conf'), 'utf8'),
    /wal fetch --config \S+ --repo offsite --source pg %f %p/,
  );
});
