/**
 * Point-in-time recovery end to end on a cluster of the test's own: a writer commits a row every
 * 100 ms for a minute, across a segment switch and a server restart, while the server archives
 * through `hoard wal push`; then restores to five random times each hold exactly the rows
 * committed at or before that time (commit timestamps, track_commit_timestamp), and hoard says
 * which commit time recovery reached.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needServer, startCluster } from '../helpers/pg-cluster.js';

const WRITE = (n: number) =>
  `DO $$ BEGIN FOR i IN 1..${n} LOOP INSERT INTO t DEFAULT VALUES; COMMIT; PERFORM pg_sleep(0.1); END LOOP; END $$`;

test('a restore to a time holds every row committed by then and none after', { timeout: 900_000 }, async (t) => {
  if (!needServer(t)) return;
  const c = await startCluster(t);
  await c.sql('CREATE TABLE t (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const base = await c.hoard(['wal', 'base', '--json']);
  assert.equal(base.code, 0, base.stderr);
  const consistentAt = Date.parse(JSON.parse(base.stdout).consistent_at);
  await c.sql(WRITE(200)); // 20 s
  await c.switchAndWait();
  await c.sql(WRITE(100)); // 10 s
  await c.restart();
  await c.sql(WRITE(300)); // 30 s
  await c.switchAndWait();
  const rows = (
    await c.sql(
      'SELECT id, to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') FROM t ORDER BY id',
    )
  )
    .split('\n')
    .map((l) => l.split('|'))
    .map(([id, at]) => ({ id: Number(id), atUs: usOf(at) }));
  assert.equal(rows.length, 600);
  const firstMs = Math.max(consistentAt, rows[0].atUs / 1000);
  const lastMs = rows[rows.length - 1].atUs / 1000;
  const status = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  assert.deepEqual(status.gaps, []);
  assert.ok(status.timelines[0].segments >= 3, 'at least two segment switches were archived');
  for (let i = 0; i < 5; i++) {
    const at = Math.floor(firstMs + Math.random() * (lastMs - firstMs));
    const iso = new Date(at).toISOString();
    const r = await c.restored(['--at', iso, '--json'], `restore-${i}`, 'SELECT id FROM t ORDER BY id');
    const got = r.rows.split('\n').filter(Boolean).map(Number);
    const want = rows.filter((x) => x.atUs <= at * 1000).map((x) => x.id);
    assert.deepEqual(got, want, `restore to ${iso}`);
    const newest = rows.filter((x) => x.atUs <= at * 1000).at(-1)!;
    assert.equal(usOf(JSON.parse(r.out.stdout).reached), newest.atUs, 'hoard says which commit recovery stopped after');
  }
});

/** Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
function usOf(s: string): number {
  const m = /^(.*)\.(\d{6})Z$/.exec(s);
  assert.ok(m, `a time with microseconds: ${s}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]);
}
