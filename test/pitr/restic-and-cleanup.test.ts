/**
 * The archive in restic's hands, and under cleanup: `restic check --read-data` passes on a
 * repository holding base backups and WAL; restic alone restores a base backup and its WAL into a
 * data directory that starts and holds every row; after a cleanup that lets the older base backup
 * go, WAL older than the kept one is gone and a restore to the kept one's time still works; the
 * scheduled drill restores the newest base backup.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { needRestic, restic, run } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { systemClock } from '../../src/app/environment.js';
import { loadProject } from '../../src/app/project.js';
import { tasksFrom } from '../../src/daemon/tasks.js';
import { runVerifyTask } from '../../src/app/run-job.js';
import { PASSWORD, needServer, startCluster, startDataDir } from '../helpers/pg-cluster.js';

test('restic restores a base backup and its WAL; cleanup keeps what the kept base needs', {
  timeout: 600_000,
}, async (t) => {
  if (!needServer(t) || !(await needRestic(t))) return;
  const c = await startCluster(t, { pitr: "{ rpo: 5m, base_backup: 'daily at 03:00' }" });
  await c.sql('CREATE TABLE t (id serial PRIMARY KEY, v text)');
  await c.sql("INSERT INTO t (v) SELECT 'one' FROM generate_series(1, 100)");
  const b1 = JSON.parse((await c.hoard(['wal', 'base', '--json'])).stdout);
  await c.sql("INSERT INTO t (v) SELECT 'two' FROM generate_series(1, 100)");
  await c.switchAndWait();
  await c.sql("INSERT INTO t (v) SELECT 'three' FROM generate_series(1, 100)");
  // the second through the scheduler's task (pitr.base_backup), in this process: under root it
  // writes into the postgres user's repository, and the archiver must still push after it
  const env = { vars: { ...process.env, ...CLEAN_ENV, HOME: c.dir }, clock: systemClock, cwd: c.dir, isTTY: false };
  const p = await loadProject(env, { config: c.config });
  const deps = {
    env,
    info: { hostname: 'test', username: 'root', uid: 0, gid: 0, programVersion: 'test' },
    isProcessAlive: () => true,
    log: () => {},
  };
  const task = tasksFrom(p, deps).find((x) => x.name === 'base:pg');
  assert.ok(task, 'pitr.base_backup makes a scheduler task');
  const outcome = await task.run('schedule', new AbortController().signal);
  assert.equal(outcome.result, 'succeeded', outcome.error ?? '');
  const bases = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout).base_backups;
  const b2 = bases.find((b: { snapshot_id: string }) => b.snapshot_id === outcome.snapshots[0]);
  assert.ok(b2.start_segment > b1.start_segment);
  await c.sql("INSERT INTO t (v) SELECT 'four' FROM generate_series(1, 100)");
  await c.switchAndWait();

  const check = await restic(c.repo, PASSWORD, ['check', '--read-data']);
  assert.equal(check.code, 0, check.stderr + check.stdout);

  // restic alone: the base backup's tar, every WAL snapshot into pg_wal, and the server starts
  const work = path.join(c.dir, 'by-restic');
  const data = path.join(work, 'data');
  await fs.mkdir(path.join(data, 'pg_wal'), { recursive: true, mode: 0o700 });
  const r = await restic(c.repo, PASSWORD, ['restore', b2.snapshot_id, '--target', work]);
  assert.equal(r.code, 0, r.stderr);
  const untar = await run('tar', ['-xf', path.join(work, 'base.tar'), '-C', data]);
  assert.equal(untar.code, 0, untar.stderr);
  const wal = JSON.parse((await restic(c.repo, PASSWORD, ['snapshots', '--json', '--tag', 'kind:wal'])).stdout) as {
    id: string;
  }[];
  for (const s of wal) {
    const w = await restic(c.repo, PASSWORD, ['restore', s.id, '--target', path.join(data, 'pg_wal')]);
    assert.equal(w.code, 0, w.stderr);
  }
  await fs.chmod(work, 0o755); // the server's user reaches data/ through it
  const { port, stop } = await startDataDir(data, {
    log: path.join(c.dir, 'by-restic.log'),
    options: '-c archive_mode=off -c unix_socket_directories=',
  });
  try {
    assert.equal(await c.sql('SELECT count(*) FROM t', port), '400');
  } finally {
    await stop();
  }

  // cleanup: the older base backup goes, and the WAL only it needed
  const clean = await c.hoard(['cleanup', '--keep-last', '1', '--source', 'pg', '--json']);
  assert.equal(clean.code, 0, clean.stderr + clean.stdout);
  const status = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  assert.deepEqual(
    status.base_backups.map((b: { snapshot_id: string }) => b.snapshot_id),
    [b2.snapshot_id],
  );
  // a WAL snapshot holding the kept base's first segment stays whole (one push may store several)
  const first = status.timelines[0].first as string;
  assert.ok(first > b1.start_segment && first <= b2.start_segment, `WAL only the old base needed is gone: ${first}`);
  assert.deepEqual(status.gaps, []);
  assert.equal((await c.restored(['--at', b2.consistent_at], 'after-cleanup', 'SELECT count(*) FROM t')).rows, '300');
  const before = await c.hoard([
    'restore',
    '--source',
    'pg',
    '--at',
    b1.consistent_at,
    '--target',
    path.join(c.dir, 'x'),
  ]);
  assert.equal(before.code, 1);
  assert.match(before.stderr, /is before the oldest base backup can reach/);

  // the scheduled drill of a point-in-time source restores its newest base backup, not its newest WAL
  const drill = await runVerifyTask(p, env, 'drill', {
    trigger: 'schedule',
    info: deps.info,
    isProcessAlive: () => true,
    signal: new AbortController().signal,
  });
  assert.equal(drill.result, 'succeeded', drill.error ?? '');
  assert.deepEqual(drill.snapshots, [b2.snapshot_id]);
});
