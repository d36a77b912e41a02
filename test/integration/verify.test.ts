/**
 * hoard verify on files: one corrupted pack is found by read-back (not by the quick structural
 * check, which it passes), named with the snapshots and files it affects, exit 5; results are
 * recorded in the repository, shown by list/info/status, and restic check --read-data still passes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { ROOT, hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

const PW = 'verify pw';

describe('hoard verify', () => {
  it('a corrupted pack: quick passes, read-back names the snapshots and files and exits 5; records survive in the repository', async (t) => {
    const dir = await tempDir(t, 'hoard-verify-');
    const repo = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    await fsp.mkdir(path.join(dir, 'a'));
    await fsp.mkdir(path.join(dir, 'b'));
    await fsp.writeFile(path.join(dir, 'a', 'big.sql'), textLike(2 << 20, 1));
    await fsp.writeFile(path.join(dir, 'b', 'other.txt'), textLike(300_000, 2));
    const first = JSON.parse((await hoard(['backup', '--json', 'a'], { env, cwd: dir })).stdout).snapshot_id as string;
    const second = JSON.parse((await hoard(['backup', '--json', 'b'], { env, cwd: dir })).stdout).snapshot_id as string;
    const third = JSON.parse((await hoard(['backup', '--json', 'a', 'b'], { env, cwd: dir })).stdout)
      .snapshot_id as string;
    const ok = await hoard(['verify', '--all', '--json'], { env });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout.trim().split('\n').length, 3);

    // flip one byte in the middle of the largest pack (a's data): sizes stay right
    const packs: { p: string; size: number }[] = [];
    for (const f of await fsp.readdir(path.join(repo, 'data'), { recursive: true })) {
      const p = path.join(repo, 'data', f);
      if (/[0-9a-f]{64}$/.test(f)) packs.push({ p, size: (await fsp.stat(p)).size });
    }
    const big = packs.sort((x, y) => y.size - x.size)[0];
    const buf = await fsp.readFile(big.p);
    buf[Math.floor(buf.length / 3)] ^= 0x40;
    await fsp.chmod(big.p, 0o600);
    await fsp.writeFile(big.p, buf);

    const quick = await hoard(['verify', '--all', '--quick'], { env });
    assert.equal(quick.code, 0, 'the structure is intact: quick cannot see a flipped byte');
    const rb = await hoard(['verify', '--all'], { env });
    assert.equal(rb.code, 5, rb.stdout + rb.stderr);
    assert.match(rb.stdout, new RegExp(`FAILED ${first.slice(0, 8)} `));
    assert.match(rb.stdout, new RegExp(`FAILED ${third.slice(0, 8)} `));
    assert.match(
      rb.stdout,
      new RegExp(`valid ${second.slice(0, 8)} `),
      'the snapshot of b alone does not need the damaged pack',
    );
    assert.match(rb.stdout, /affected files: \/a\/big\.sql/);
    assert.match(rb.stdout, new RegExp(`damaged packs: ${path.basename(big.p).slice(0, 8)}`));
    assert.match(rb.stdout, /2 of 3 backup\(s\) FAILED verification/);

    // the records are in the repository: list, info and status show them from any machine
    const list = JSON.parse((await hoard(['list', '--json'], { env })).stdout) as {
      id: string;
      verification: { ok: boolean; level: string } | null;
    }[];
    assert.deepEqual(
      list.map((r) => [r.id, r.verification?.level, r.verification?.ok]),
      [
        [first, 'read-back', false],
        [second, 'read-back', true],
        [third, 'read-back', false],
      ],
    );
    const table = await hoard(['list'], { env });
    assert.match(table.stdout, /FAILED read-back [\d ]+s ago: \/a\/big\.sql:/);
    assert.match(table.stdout, /valid · read back \d+ s ago/);
    const info = await hoard(['info', first.slice(0, 10)], { env });
    assert.match(info.stdout, /status\s+FAILED read-back/);
    const records = await fsp.readdir(path.join(repo, 'hoard', 'verifications'));
    assert.equal(records.length, 3 + 3 + 3, 'read-back, quick and read-back: one record per snapshot each time');
    const raw = await fsp.readFile(path.join(repo, 'hoard', 'verifications', records[0]));
    assert.ok(!raw.includes(Buffer.from('read-back')), 'records are encrypted');

    // repair the byte: restic accepts a repository holding verification records
    buf[Math.floor(buf.length / 3)] ^= 0x40;
    await fsp.writeFile(big.p, buf);
    if (await needRestic(t)) {
      const chk = await restic(repo, PW, ['check', '--read-data']);
      assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      assert.match(chk.stdout, /no errors were found/);
    }
    const sub = await hoard(['verify', '--all', '--subset', '50%', '--json'], { env });
    assert.equal(sub.code, 0, sub.stderr);
    assert.ok(
      sub.stdout
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).ok),
    );
  });

  it('hoard.yaml verify.after_backup: every new snapshot is verified and the result recorded', async (t) => {
    const dir = await tempDir(t, 'hoard-verify-after-');
    await fsp.copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    await fsp.appendFile(path.join(dir, 'hoard.yaml'), '\nverify:\n  after_backup: read-back\n');
    const b = await hoard(['backup'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /verified \(read-back\): valid/);
    const list = await hoard(['list'], { cwd: dir, env: CLEAN_ENV });
    assert.match(list.stdout, /valid · read back \d+ s ago/);
    const st = JSON.parse((await hoard(['status', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout);
    assert.equal(st.sources[0].last_verification.level, 'read-back');
    assert.equal(st.sources[0].last_verification.ok, true);
  });

  it('size bounds and completeness: a backup below --min-size, a job run missing one of its sources', async (t) => {
    const dir = await tempDir(t, 'hoard-verify-complete-');
    await fsp.copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    await fsp.mkdir(path.join(dir, 'uploads'));
    await fsp.writeFile(path.join(dir, 'uploads', 'x.txt'), 'x');
    assert.equal(
      (await hoard(['init', '--yes', '--no-backup', '--files', 'uploads'], { cwd: dir, env: CLEAN_ENV })).code,
      0,
    );
    const b = await hoard(['backup', 'daily', '--json'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(b.code, 0, b.stderr);
    const [db, files] = b.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.message_type === 'summary');
    const whole = await hoard(['verify', db.snapshot_id.slice(0, 10), '--quick', '--json'], {
      cwd: dir,
      env: CLEAN_ENV,
    });
    assert.equal(whole.code, 0, whole.stdout);
    assert.ok(
      JSON.parse(whole.stdout).checks.some(
        (c: { name: string; message: string }) =>
          c.name === 'complete' && /all 2 sources of job daily are in run/.test(c.message),
      ),
    );
    assert.equal((await hoard(['delete', files.snapshot_id.slice(0, 10)], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const partial = await hoard(['verify', db.snapshot_id.slice(0, 10), '--quick'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(partial.code, 5);
    assert.match(partial.stdout, /run \S+ of job daily lacks files/);
    const small = await hoard(['verify', db.snapshot_id.slice(0, 10), '--quick', '--min-size', '1GB'], {
      cwd: dir,
      env: CLEAN_ENV,
    });
    assert.equal(small.code, 5);
    assert.match(small.stdout, /the backup is 81920 bytes, below the minimum of 1000000000/);
  });

  it('bad input: a snapshot that is gone, conflicting levels, a bad subset', async (t) => {
    const dir = await tempDir(t, 'hoard-verify-bad-');
    const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const gone = await hoard(['verify', 'abcdef0123'], { env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no snapshot with id or label "abcdef0123"/);
    const empty = await hoard(['verify', '--all'], { env });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /the repository has no snapshots/);
    for (const [args, re] of [
      [['--quick', '--drill', '--latest'], /choose --quick or --drill/],
      [['--subset', '0%', '--latest'], /--subset must be a percentage/],
      [['--min-size', 'lots', '--latest'], /--min-size must be a size/],
    ] as [string[], RegExp][]) {
      const r = await hoard(['verify', ...args], { env });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re);
    }
  });
});
