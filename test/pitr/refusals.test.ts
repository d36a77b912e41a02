/**
 * What point-in-time recovery refuses, each with its exit code and nothing written: a base backup
 * of a server that does not archive (the shared server, read only) or by a user without
 * REPLICATION; a restore with no base backup, to a time before the oldest base backup or after the
 * newest archived WAL, into a folder that is not empty, across a forked history without
 * --timeline, or across a missing segment; a push of different bytes under an archived name; a
 * fetch of a file that is not archived.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLEAN_ENV } from '../helpers/project.js';
import { CLI, hoard, tempDir } from '../helpers/services.js';
import {
  PG_BIN,
  clusterUser,
  freePort,
  needServer,
  runAsCluster,
  startCluster,
  startDataDir,
} from '../helpers/pg-cluster.js';

const iso = (ms: number) => new Date(ms).toISOString();

test('a base backup of a server that does not archive is refused before anything is written', async (t) => {
  if (!needServer(t)) return;
  const dir = await tempDir(t, 'hoard-pitr-off-');
  const pw = { ...CLEAN_ENV, HOARD_PASSWORD: 'pw' };
  assert.equal((await hoard(['init', '--repo', path.join(dir, 'repo')], { env: pw })).code, 0);
  await fs.writeFile(
    path.join(dir, 'hoard.yaml'),
    `version: 1\nrepositories:\n  main: { url: ${path.join(dir, 'repo')} }\nsources:\n  shared:\n    type: postgres\n    url: postgres://postgres@127.0.0.1:5432/postgres\n    pitr: {}\n`,
  );
  const r = await hoard(['wal', 'base'], { env: pw, cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /archive_mode = off/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const snaps = await hoard(['snapshots', '--json'], { env: pw, cwd: dir });
  assert.deepEqual(JSON.parse(snaps.stdout), []);
});

test('hoard init says whether each PostgreSQL server archives, and the line to set', async (t) => {
  if (!needServer(t)) return;
  const r = await hoard(['init', '--yes', '--no-backup'], { env: CLEAN_ENV, cwd: await tempDirWithEnv(t) });
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('point-in-time recovery of '));
  assert.ok(line, r.stdout);
  assert.match(
    line,
    /archive_mode is off: for point-in-time recovery set archive_mode = on and archive_command = '.+ wal push --config .+hoard\.yaml %p'/,
  );
  const json = await hoard(['init', '--yes', '--no-backup', '--json'], {
    env: CLEAN_ENV,
    cwd: await tempDirWithEnv(t),
  });
  assert.equal(JSON.parse(json.stdout).archiving[0].archive_mode, 'off');
});

async function tempDirWithEnv(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t, 'hoard-pitr-init-');
  await fs.writeFile(path.join(dir, '.env'), 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test\n');
  return dir;
}

test('restores outside the archive, into a used folder or across a fork or a gap are refused', {
  timeout: 600_000,
}, async (t) => {
  if (!needServer(t)) return;
  const c = await startCluster(t);
  await c.sql('CREATE TABLE t (id serial PRIMARY KEY)');
  const restore = (at: string, target: string, ...more: string[]) =>
    c.hoard(['restore', '--source', 'pg', '--at', at, '--target', target, ...more]);

  // no base backup yet
  let r = await restore(iso(Date.now()), path.join(c.dir, 'r0'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no base backup/);

  // a user without REPLICATION may not take one
  await c.sql('CREATE ROLE norepl LOGIN');
  const other = path.join(c.dir, 'norepl.yaml');
  await fs.writeFile(
    other,
    (await fs.readFile(c.config, 'utf8')).replace('postgres://postgres@', 'postgres://norepl@'),
  );
  r = await runAsCluster(process.execPath, [CLI, 'wal', 'base', '--config', other], { cwd: c.dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /REPLICATION/);

  const base = JSON.parse((await c.hoard(['wal', 'base', '--json'])).stdout);
  await c.sql('INSERT INTO t DEFAULT VALUES');
  await new Promise((res) => setTimeout(res, 50));
  const between = iso(Date.now()); // after the first row, before the second
  await new Promise((res) => setTimeout(res, 50));
  await c.sql('INSERT INTO t DEFAULT VALUES');
  const seg = await c.switchAndWait();
  const status = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);

  // before the base backup can reach, after the newest archived WAL
  r = await restore(iso(Date.parse(base.consistent_at) - 60_000), path.join(c.dir, 'r1'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /before the oldest base backup can reach/);
  r = await restore(iso(Date.parse(status.newest_archived_at) + 3_600_000), path.join(c.dir, 'r1'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the archived WAL reaches/);
  assert.equal(await fs.stat(path.join(c.dir, 'r1')).catch(() => null), null, 'nothing was written');

  // a folder that holds something is left as it is
  const used = path.join(c.dir, 'used');
  await fs.mkdir(used);
  await fs.writeFile(path.join(used, 'keep'), 'mine');
  r = await restore(status.newest_archived_at, used);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /not empty/);
  assert.deepEqual(await fs.readdir(used), ['keep']);
  if (clusterUser()) {
    // an empty folder of another user (root's, to the postgres user hoard runs as here): refused
    const foreign = path.join(c.dir, 'foreign');
    await fs.mkdir(foreign, { mode: 0o777 });
    r = await restore(status.newest_archived_at, foreign);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /belongs to another user or others may write it/);
    assert.deepEqual(await fs.readdir(foreign), []);
  }

  // a push of other bytes under an archived name, and the same bytes again
  const copy = path.join(c.dir, seg);
  assert.equal((await c.hoard(['wal', 'fetch', seg, copy])).code, 0);
  r = await c.hoard(['wal', 'push', copy]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /already archived/);
  const bytes = await fs.readFile(copy);
  bytes[100] ^= 0xff;
  await fs.writeFile(copy, bytes);
  r = await c.hoard(['wal', 'push', copy]);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /different/);
  // a file that is not archived: PostgreSQL reads exit 1 as the end of the archive
  r = await c.hoard(['wal', 'fetch', '0000000100000000000000FF', path.join(c.dir, 'missing')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /not archived/);
  assert.equal(await fs.stat(path.join(c.dir, 'missing')).catch(() => null), null);
  // any other failure exits above 125, so that PostgreSQL stops recovery rather than promote early
  r = await c.hoard(['wal', 'fetch', seg, path.join(c.dir, 'wrong-pw')], { HOARD_PASSWORD: 'not the password' });
  assert.equal(r.code, 126, r.stderr);

  // a fork: a restored copy promoted and archiving into the same source makes timeline 2
  const fork = path.join(c.dir, 'fork');
  r = await restore(between, fork);
  assert.equal(r.code, 0, r.stderr);
  // the restore turned the tar's archiving off; the operator makes the copy the new primary
  assert.match(r.stdout, /archiving is off/);
  await fs.appendFile(
    path.join(fork, 'postgresql.auto.conf'),
    `archive_mode = on\narchive_command = '${process.execPath} ${CLI} wal push --config ${c.config} %p'\n`,
  );
  const { port, stop } = await startDataDir(fork, {
    log: path.join(c.dir, 'fork.log'),
    options: `-c unix_socket_directories=${c.dir}`,
  });
  try {
    await waitFor(async () => (await c.sql('SELECT pg_is_in_recovery()', port)) === 'f');
    assert.equal(await c.sql('SELECT count(*) FROM t', port), '1');
    await c.sql('CHECKPOINT', port);
    assert.equal(await c.sql('SELECT timeline_id FROM pg_control_checkpoint()', port), '2');
    await c.sql('INSERT INTO t DEFAULT VALUES', port);
    const forked = await c.sql('SELECT pg_walfile_name(pg_switch_wal())', port);
    await waitFor(
      async () => (await c.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver", port)) >= forked,
    );
  } finally {
    await stop();
  }
  await c.sql('INSERT INTO t DEFAULT VALUES');
  await c.switchAndWait();
  const later = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  assert.deepEqual(
    later.timelines.map((x: { timeline: number }) => x.timeline),
    [1, 2],
  );
  r = await restore(later.newest_archived_at, path.join(c.dir, 'r2'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /forked/);
  assert.match(r.stderr, /--timeline/);
  // naming the original history restores it
  const port2 = await freePort();
  r = await restore(later.newest_archived_at, path.join(c.dir, 'r3'), '--timeline', '1', '--start', String(port2));
  assert.equal(r.code, 0, r.stderr);
  try {
    assert.equal(await c.sql('SELECT count(*) FROM t', port2), '3');
  } finally {
    await runAsCluster(path.join(PG_BIN!, 'pg_ctl'), ['-D', path.join(c.dir, 'r3'), '-m', 'immediate', '-w', 'stop']);
  }

  // a gap: one WAL snapshot of timeline 1 forgotten
  const snaps = JSON.parse((await c.hoard(['snapshots', '--json'])).stdout) as {
    id: string;
    hoard?: { kind?: string; wal?: { files: { name: string }[] } };
  }[];
  const holder = snaps.find((s) => s.hoard?.kind === 'wal' && s.hoard.wal?.files.some((f) => f.name === seg))!;
  assert.equal((await c.hoard(['forget', holder.id])).code, 0);
  const gapped = await c.hoard(['wal', 'status', '--json']);
  assert.equal(gapped.code, 5, 'wal status exits 5 on a gap');
  assert.ok(JSON.parse(gapped.stdout).gaps.length > 0);
  r = await restore(later.newest_archived_at, path.join(c.dir, 'r4'), '--timeline', '1');
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /missing/);
  assert.equal(await fs.stat(path.join(c.dir, 'r4')).catch(() => null), null, 'nothing was written');
});

async function waitFor(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gave up waiting after 60 s');
}
