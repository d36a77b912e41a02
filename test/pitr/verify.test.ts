/**
 * Verification of point-in-time recovery that cannot be fooled: a base backup's WAL continuity,
 * its drill (a real point-in-time restore into a scratch cluster, started, queried, removed), WAL
 * files read back against the sha256 recorded at push time, and what an attacker with the key
 * plants: a WAL snapshot whose bytes differ from its recorded hash, a base backup whose tar
 * reaches outside the target or holds a symlink, and a forgotten WAL snapshot (a gap).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { forgeSnapshot, openAsAttacker } from '../helpers/hostile.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { CLI, run } from '../helpers/services.js';
import { PASSWORD, clusterUser, needServer, startCluster } from '../helpers/pg-cluster.js';
import { listSnapshots } from '../../src/core/index.js';

interface Verification {
  ok: boolean;
  checks: { name: string; ok: boolean; message: string }[];
}

const verifyJson = (out: string): Verification => JSON.parse(out.trim().split('\n').at(-1)!);

/** One ustar entry: a file (type 0) or a symlink (type 2) under any name. */
function tarEntry(name: string, body: Buffer, type = '0', link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

test('verify checks WAL continuity, drills a base backup and reads WAL back against its hashes; forgeries fail', {
  timeout: 600_000,
}, async (t) => {
  if (!needServer(t)) return;
  const c = await startCluster(t);
  await c.sql('CREATE TABLE t (id serial PRIMARY KEY)');
  const base = JSON.parse((await c.hoard(['wal', 'base', '--json'])).stdout);
  await c.sql('INSERT INTO t SELECT FROM generate_series(1, 50)');
  const seg = await c.switchAndWait();

  // the base backup: continuity at every level, and a real drill
  let r = await c.hoard(['verify', base.snapshot_id, '--quick', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(verifyJson(r.stdout).checks.some((x) => x.name === 'wal-continuity' && x.ok));
  const before = (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('hoard-pitr-drill-'));
  r = await c.hoard(['verify', base.snapshot_id, '--drill', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const drill = verifyJson(r.stdout).checks.find((x) => x.name === 'pitr-drill');
  assert.ok(drill?.ok, JSON.stringify(drill));
  assert.match(
    drill.message,
    /started and promoted .*[1-9]\d* database folder/,
    'the drilled server promoted and holds databases',
  );
  const after = (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('hoard-pitr-drill-'));
  assert.deepEqual(after, before, 'the scratch folder is gone');

  // WAL read back against the hashes recorded at push time
  const repo = await openAsAttacker(c.repo, PASSWORD);
  const list = (await listSnapshots(repo)).snapshots;
  const walSnap = list.find(
    (e) => e.snapshot.hoard?.kind === 'wal' && JSON.stringify(e.snapshot.hoard.wal).includes(seg),
  )!;
  r = await c.hoard(['verify', walSnap.id, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(verifyJson(r.stdout).checks.some((x) => x.name === 'wal-hash' && x.ok));

  // an attacker's WAL snapshot: the real metadata, other bytes
  const hoardMeta = walSnap.snapshot.hoard!;
  const files = (hoardMeta.wal as { files: { name: string; size: number }[] }).files;
  const forged = await forgeSnapshot(repo, {
    files: Object.fromEntries(files.map((f) => [f.name, Buffer.alloc(f.size, 7)])),
    hoard: hoardMeta,
    tags: walSnap.snapshot.tags,
  });
  r = await c.hoard(['verify', forged, '--json']);
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.match(
    verifyJson(r.stdout).checks.find((x) => x.name === 'wal-hash')!.message,
    /other bytes than were archived/,
  );

  // an attacker's base backup: a tar reaching outside the target, and a symlink
  const baseSnap = list.find((e) => e.id === base.snapshot_id)!;
  const meta = baseSnap.snapshot.hoard!;
  const later = new Date(Date.parse(base.consistent_at) + 1).toISOString();
  await forgeSnapshot(repo, {
    files: {
      'base.tar': Buffer.concat([
        tarEntry('PG_VERSION', Buffer.from('15\n')),
        tarEntry('../escaped', Buffer.from('owned\n')),
        tarEntry('global', Buffer.alloc(0), '2', '/etc'),
        Buffer.alloc(1024),
      ]),
    },
    hoard: { ...meta, base: { ...(meta.base as object), consistent_at: later } },
    tags: baseSnap.snapshot.tags,
  });
  const status = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  const target = path.join(c.dir, 'hostile', 'data');
  await fs.mkdir(path.dirname(target));
  const user = clusterUser();
  if (user) await fs.chown(path.dirname(target), user.uid, user.gid);
  r = await c.hoard(['restore', '--source', 'pg', '--at', status.newest_archived_at, '--target', target]);
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stderr, /does not unpack: \.\.\/escaped/);
  assert.deepEqual(await fs.readdir(path.dirname(target)), ['data'], 'nothing outside the target');
  assert.equal(await fs.lstat(path.join(target, 'global')).catch(() => null), null, 'no symlink planted');
  assert.deepEqual(await fs.readdir(target), [], 'no half-restored data directory is left');

  // an attacker's base backup whose settings would run a command and load a library: neither happens
  const work = path.join(c.dir, 'evil');
  await fs.mkdir(path.join(work, 'x'), { recursive: true });
  const dump = await run(
    'sh',
    [
      '-c',
      `"${process.execPath}" "${CLI}" dump ${base.snapshot_id} /base.tar --config "${c.config}" > "${work}/real.tar"`,
    ],
    {
      env: { ...CLEAN_ENV, HOME: c.dir },
    },
  );
  assert.equal(dump.code, 0, dump.stderr);
  assert.equal((await run('tar', ['-xf', path.join(work, 'real.tar'), '-C', path.join(work, 'x')])).code, 0);
  const pwned = path.join(os.tmpdir(), `hoard-pwned-${process.pid}`);
  await fs.appendFile(
    path.join(work, 'x', 'postgresql.auto.conf'),
    `recovery_end_command = 'touch ${pwned}'\nshared_preload_libraries = 'hoard_no_such_library'\narchive_mode = on\narchive_command = 'touch ${pwned}'\n`,
  );
  assert.equal((await run('tar', ['-cf', path.join(work, 'evil.tar'), '-C', path.join(work, 'x'), '.'])).code, 0);
  await forgeSnapshot(repo, {
    files: { 'base.tar': await fs.readFile(path.join(work, 'evil.tar')) },
    hoard: {
      ...meta,
      base: { ...(meta.base as object), consistent_at: new Date(Date.parse(base.consistent_at) + 2).toISOString() },
    },
    tags: baseSnap.snapshot.tags,
  });
  const evil = await c.restored(['--at', status.newest_archived_at], 'evil-restored', 'SHOW shared_preload_libraries');
  assert.equal(evil.rows, '', 'the library was not loaded (the server would not have started)');
  assert.equal(await fs.stat(pwned).catch(() => null), null, 'no command of the tar ran');
  assert.match(
    await fs.readFile(path.join(evil.target, 'postgresql.auto.conf'), 'utf8'),
    /^# \(disabled by hoard restore\) recovery_end_command/m,
  );

  // a gap: a later segment archived, then the WAL snapshots holding the earlier one forgotten
  await c.sql('INSERT INTO t DEFAULT VALUES');
  await c.switchAndWait();
  for (const id of [walSnap.id, forged]) assert.equal((await c.hoard(['forget', id])).code, 0);
  r = await c.hoard(['verify', base.snapshot_id, '--quick', '--json']);
  assert.equal(r.code, 5, r.stdout + r.stderr);
  const cont = verifyJson(r.stdout).checks.find((x) => x.name === 'wal-continuity')!;
  assert.equal(cont.ok, false);
  assert.match(cont.message, /is (missing|not archived)/);
});
