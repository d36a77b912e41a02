/**
 * Full disks, on real small file systems (tmpfs mounts; the tests need root, as in CI): a backup
 * into a repository whose disk fills up, and a restore onto a disk that fills up. Each must fail
 * with exit 2 and a one-line message saying what to do, leave no snapshot that points at missing
 * data and no half-written file under a final name, and leave a repository that hoard and restic
 * both check clean — and work again once there is room. A database backup checks the free space
 * before it starts; the disk filling up under it (another process) must still never give a snapshot.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { REQUIRE, hoard, needRestic, restic, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { PG_URL, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';

const PW = 'full';

/** Mounts a tmpfs of `mib` MiB at a fresh folder (unmounted after the test); undefined (test skipped) when mounting is not allowed here. */
async function smallDisk(t: TestContext, mib: number): Promise<string | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-full-'));
  const m = await run('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  t.after(async () => {
    if (m.code === 0) await run('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  if (m.code !== 0) {
    const why = `cannot mount a tmpfs (needs root): ${m.stderr.trim()}`;
    if (REQUIRE) assert.fail(why);
    t.skip(why);
    return undefined;
  }
  return dir;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');
const oneClearLine = (stderr: string) =>
  /^hoard: no space left on the device.*\n\s+free some space/.test(stderr) && !/\n\s+at |internal error/.test(stderr);

describe('full disks', () => {
  it('a backup into a repository whose disk fills up: exit 2, no snapshot, a clean repository, and it works once there is room', async (t) => {
    if (!(await needRestic(t))) return;
    const disk = await smallDisk(t, 12);
    if (!disk) return;
    const dir = await tempDir(t);
    const repo = path.join(disk, 'repo');
    const env = { ...CLEAN_ENV, HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
    assert.equal((await hoard(['init'], { env })).code, 0);
    await mkdir(path.join(dir, 'small'));
    await writeFile(path.join(dir, 'small', 'a.txt'), 'fits\n');
    assert.equal((await hoard(['backup', 'small'], { env, cwd: dir })).code, 0);
    await mkdir(path.join(dir, 'big'));
    for (let i = 0; i < 4; i++) await writeFile(path.join(dir, 'big', `f${i}.bin`), randomBytes(5 * 1024 * 1024));

    const b = await hoard(['backup', 'big'], { env, cwd: dir });
    assert.equal(b.code, 2, b.stderr);
    assert.ok(oneClearLine(b.stderr), b.stderr);
    assert.equal(
      JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout).length,
      1,
      'the failed backup left no snapshot',
    );
    // no temporary file is left behind to hold the space
    assert.deepEqual(
      (await files(repo)).filter((f) => /tmp|\.partial/.test(path.basename(f))),
      [],
    );
    const hc = await hoard(['check', '--read-data'], { env });
    assert.equal(hc.code, 0, hc.stdout + hc.stderr);
    const rc = await restic(repo, PW, ['check', '--read-data']);
    assert.equal(rc.code, 0, rc.stdout + rc.stderr);

    // room again (the big files shrink): the next backup succeeds and restores right
    for (let i = 0; i < 4; i++) await writeFile(path.join(dir, 'big', `f${i}.bin`), randomBytes(256 * 1024));
    assert.equal((await hoard(['backup', 'big'], { env, cwd: dir })).code, 0);
    const out = path.join(dir, 'out');
    assert.equal((await hoard(['restore', 'latest', '--target', out], { env })).code, 0);
    for (let i = 0; i < 4; i++)
      assert.equal(await sha(path.join(out, 'big', `f${i}.bin`)), await sha(path.join(dir, 'big', `f${i}.bin`)));
    assert.equal((await restic(repo, PW, ['check', '--read-data'])).code, 0);
  });

  it('a database backup whose repository disk fills up while pg_dump streams: exit 2, no snapshot, a clean repository', async (t) => {
    if (!(await needRestic(t)) || !(await needPostgres(t))) return;
    const disk = await smallDisk(t, 40);
    if (!disk) return;
    const db = await pgDatabase(t);
    // about 12 MB of random bytes: they do not compress, so the dump stores about that much
    await pgExec(
      db,
      "CREATE TABLE blobs AS SELECT g AS id, decode(string_agg(md5(random()::text || g || s), ''), " +
        "'hex') AS data FROM generate_series(1, 1500) g, generate_series(1, 500) s GROUP BY g",
    );
    const repo = path.join(disk, 'repo');
    const env = { ...CLEAN_ENV, HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
    assert.equal((await hoard(['init'], { env })).code, 0);
    // the free-space check passes; then, while the dump streams at 1 MiB/s, another file takes the rest of the disk
    const backup = hoard(['backup', '--db', `${PG_URL}/${db}`, '--limit-upload', '1024'], { env });
    // pg_dump's COPY runs only after the free-space check passed (a fixed wait was too short on a busy machine)
    const streaming = `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND query ILIKE 'COPY%'`;
    for (let waited = 0; (await pgExec('postgres', streaming)) === '0'; waited += 100) {
      assert.ok(waited < 30_000, 'pg_dump never started streaming');
      await new Promise((r) => setTimeout(r, 100));
    }
    await run('fallocate', ['-l', `${38 * 1024 * 1024}`, path.join(disk, 'filler')]).then(async (f) => {
      if (f.code !== 0) await run('dd', ['if=/dev/zero', `of=${path.join(disk, 'filler')}`, 'bs=1M', 'count=40']);
    });
    const b = await backup;
    assert.equal(b.code, 2, b.stdout + b.stderr);
    assert.ok(oneClearLine(b.stderr), b.stderr);
    await rm(path.join(disk, 'filler'));
    assert.equal(
      JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout).length,
      0,
      'the failed dump left no snapshot',
    );
    const hc = await hoard(['check', '--read-data'], { env });
    assert.equal(hc.code, 0, hc.stdout + hc.stderr);
    assert.equal((await restic(repo, PW, ['check', '--read-data'])).code, 0);
  });

  it('a restore onto a disk that fills up: exit 2, no half-written file under its final name, and a rerun with room restores everything', async (t) => {
    const disk = await smallDisk(t, 8);
    if (!disk) return;
    const dir = await tempDir(t);
    const env = { ...CLEAN_ENV, HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: PW };
    assert.equal((await hoard(['init'], { env })).code, 0);
    await mkdir(path.join(dir, 'src'));
    const want: Record<string, string> = {};
    for (let i = 0; i < 5; i++) {
      const f = path.join(dir, 'src', `f${i}.bin`);
      await writeFile(f, randomBytes(3 * 1024 * 1024));
      want[`f${i}.bin`] = await sha(f);
    }
    assert.equal((await hoard(['backup', 'src'], { env, cwd: dir })).code, 0);

    const target = path.join(disk, 'restore');
    const r = await hoard(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /no space left/);
    assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
    // what is there under a final name is complete and right; nothing temporary stays behind
    const left = await files(target);
    assert.deepEqual(
      left.filter((f) => !/^f\d\.bin$/.test(path.basename(f))),
      [],
      'no temporary files',
    );
    for (const f of left) assert.equal(await sha(f), want[path.basename(f)], `${path.basename(f)} is complete`);
    assert.ok(left.length < 5, 'the disk was too small for all of it');

    await rm(target, { recursive: true, force: true });
    const out = path.join(dir, 'out');
    assert.equal((await hoard(['restore', 'latest', '--target', out], { env })).code, 0);
    for (const [name, hash] of Object.entries(want)) assert.equal(await sha(path.join(out, 'src', name)), hash);
  });
});
