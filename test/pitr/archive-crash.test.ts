/**
 * `hoard wal push` killed with SIGKILL in the middle of storing a segment (uploads throttled so
 * that it is caught mid-way), then let run again: PostgreSQL retries, the segment is archived once,
 * nothing is lost (a restore has every row), and a push of a segment already archived succeeds
 * without storing anything, as PostgreSQL's retry after an unseen success needs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLI, needRestic, restic } from '../helpers/services.js';
import { PASSWORD, needServer, runAsCluster, startCluster } from '../helpers/pg-cluster.js';

/** Rows of 16 kB that do not compress: a segment's worth of WAL in a few seconds. */
const FILL = `INSERT INTO b SELECT decode(string_agg(md5(random()::text || g), ''), 'hex') FROM generate_series(1, 1000) g, generate_series(1, 1500) r GROUP BY r`;

function pushPids(config: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `^${process.execPath} ${CLI} wal push --config ${config}`])
      .toString()
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return [];
  }
}

test('a wal push killed mid-segment loses nothing and stores nothing twice', { timeout: 600_000 }, async (t) => {
  if (!needServer(t) || !(await needRestic(t))) return;
  const c = await startCluster(t, { repoSettings: ', limit_upload: 64' });
  await c.sql('CREATE TABLE b (x bytea)');
  await c.sql(FILL);
  const seg = await c.sql('SELECT pg_walfile_name(pg_current_wal_lsn())');
  await c.sql('SELECT pg_switch_wal()');
  // a throttled push of a 16 MiB segment runs for minutes: catch it after 3 s
  let pid: number | undefined;
  for (let i = 0; i < 300 && !pid; i++) {
    pid = pushPids(c.config)[0];
    if (!pid) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(pid, 'the server started an archive_command');
  await new Promise((r) => setTimeout(r, 3000));
  process.kill(pid, 'SIGKILL');
  // unthrottle; the server retries the segment (its archiver restarts after a killed command)
  const config = await fs.readFile(c.config, 'utf8');
  await fs.writeFile(c.config, config.replace(', limit_upload: 64', ''));
  await c.sql('INSERT INTO b VALUES (NULL)');
  const last = await c.switchAndWait();
  assert.ok(last >= seg);
  const log = await fs.readFile(path.join(c.dir, 'server.log'), 'utf8');
  assert.match(log, /archive command (was terminated by signal 9|failed)/, 'the server saw the killed push fail');

  const snaps = JSON.parse((await restic(c.repo, PASSWORD, ['snapshots', '--json', '--tag', 'kind:wal'])).stdout) as {
    paths: string[];
  }[];
  const names = snaps.flatMap((s) => s.paths);
  assert.equal(new Set(names).size, names.length, `no WAL file is stored twice: ${names.join(' ')}`);
  assert.ok(names.includes(`/${seg}`));

  // PostgreSQL's retry of a segment it archived already (it did not see the success) succeeds
  const again = await runAsCluster(process.execPath, [CLI, 'wal', 'push', '--config', c.config, `pg_wal/${last}`], {
    cwd: c.data,
  });
  if (again.code === 0) assert.match(again.stdout, /already archived/);
  else assert.match(again.stderr, /is not a file/); // the server removed it once archived: nothing to retry
  const dup = path.join(c.dir, seg);
  const r = await c.hoard(['wal', 'fetch', seg, dup]);
  assert.equal(r.code, 0, r.stderr);
  const retry = await runAsCluster(process.execPath, [CLI, 'wal', 'push', '--config', c.config, dup]);
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stdout, /already archived/);

  // nothing lost: a restore to now has every row
  const base = await c.hoard(['wal', 'base']);
  assert.equal(base.code, 0, base.stderr);
  await c.sql('INSERT INTO b VALUES (NULL)');
  const rows = await c.sql('SELECT count(*) FROM b');
  await c.switchAndWait();
  const at = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout).newest_archived_at;
  assert.equal((await c.restored(['--at', at], 'restored', 'SELECT count(*) FROM b')).rows, rows);
  const check = await restic(c.repo, PASSWORD, ['check', '--read-data']);
  assert.equal(check.code, 0, check.stderr + check.stdout);
});
