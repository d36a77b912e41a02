/**
 * Concurrency, with real processes on one repository or project: three backups at once; a backup
 * while prune runs (it fails cleanly with exit 11, or waits with --retry-lock); a prune while a
 * backup runs; backup and prune started at the same moment; two schedulers started at the same
 * moment. After each: hoard check --read-data, restic check --read-data and compared restores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, ROOT, type RunResult, hoard, needRestic, restic, tempDir, waitForLock } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { textLike } from '../helpers/data.js';

const PW = 'concurrent';

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash('sha256')
      .update(await readFile(path.join(dir, f)))
      .digest('hex');
  return out;
}

async function repository(t: import('node:test').TestContext) {
  const dir = await tempDir(t, 'hoard-conc-');
  const repo = path.join(dir, 'repo');
  const env = { ...CLEAN_ENV, HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
  assert.equal((await hoard(['init'], { env })).code, 0);
  return { dir, repo, env };
}

/**
 * hoard check --read-data and restic check --read-data both pass; every snapshot tagged with a key
 * of `expected` restores (its folder `folder`, default the tag) to those hashes.
 */
async function consistent(
  repo: string,
  env: NodeJS.ProcessEnv,
  dir: string,
  expected: Record<string, Record<string, string>>,
  folder?: string,
): Promise<void> {
  const hc = await hoard(['check', '--read-data'], { env });
  assert.equal(hc.code, 0, hc.stdout + hc.stderr);
  const rc = await restic(repo, PW, ['check', '--read-data']);
  assert.equal(rc.code, 0, rc.stdout + rc.stderr);
  const snaps = JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout) as {
    id: string;
    tags: string[] | null;
  }[];
  for (const s of snaps) {
    const tag = (s.tags ?? []).find((x) => x in expected);
    if (!tag) continue;
    const out = path.join(dir, `restore-${s.id.slice(0, 8)}`);
    assert.equal((await hoard(['restore', s.id, '--target', out], { env, cwd: dir })).code, 0);
    assert.deepEqual(
      await hashes(path.join(out, folder ?? tag)),
      expected[tag],
      `snapshot ${s.id.slice(0, 8)} (${tag})`,
    );
  }
}

const lockedClean = (r: RunResult) =>
  r.code === 11 &&
  /repository is locked: .*lock held by PID \d+/.test(r.stderr) &&
  /hoard unlock/.test(r.stderr) &&
  !/\n\s+at /.test(r.stderr);

describe('concurrency', () => {
  it('three backups into one repository at once: all succeed, nothing is lost, prune afterwards keeps all three', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await repository(t);
    const shared = textLike(2 * 1024 * 1024, 5);
    const expected: Record<string, Record<string, string>> = {};
    for (const name of ['a', 'b', 'c']) {
      await mkdir(path.join(dir, name));
      await writeFile(path.join(dir, name, 'shared.sql'), shared);
      await writeFile(path.join(dir, name, 'own.bin'), randomBytes(3 * 1024 * 1024));
      await writeFile(path.join(dir, name, 'small.txt'), `only in ${name}\n`);
      expected[name] = await hashes(path.join(dir, name));
    }
    const runs = await Promise.all(['a', 'b', 'c'].map((n) => hoard(['backup', n, '--tag', n], { env, cwd: dir })));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout).length, 3);
    await consistent(repo, env, dir, expected);
    const p = await hoard(['prune', '--max-unused', '0%'], { env });
    assert.equal(p.code, 0, p.stderr);
    await consistent(repo, env, dir, expected);
  });

  it('a backup while prune runs fails cleanly (exit 11) or, with --retry-lock, waits and then succeeds', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await repository(t);
    // x and y land in the same packs; forgetting the snapshot that has y leaves packs to repack,
    // which prune downloads at 1 MiB/s: it holds its exclusive lock for several seconds
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'x.bin'), randomBytes(4 * 1024 * 1024));
    await writeFile(path.join(dir, 'src', 'y.bin'), randomBytes(4 * 1024 * 1024));
    const first = JSON.parse((await hoard(['backup', 'src', '--json'], { env, cwd: dir })).stdout)
      .snapshot_id as string;
    await writeFile(path.join(dir, 'src', 'y.bin'), 'y is gone\n');
    assert.equal((await hoard(['backup', 'src', '--tag', 'src'], { env, cwd: dir })).code, 0);
    assert.equal((await hoard(['forget', first], { env })).code, 0);
    const expected = { src: await hashes(path.join(dir, 'src')) };

    const prune = hoard(['prune', '--max-unused', '0%', '--limit-download', '1024'], { env });
    let pruneEnded = 0;
    void prune.then(() => {
      pruneEnded = Date.now();
    });
    await waitForLock(repo);
    const waiting = hoard(['backup', 'src', '--tag', 'src', '--retry-lock', '2m'], { env, cwd: dir }).then((r) => ({
      ...r,
      ended: Date.now(),
    }));
    const refused = await hoard(['backup', 'src', '--tag', 'src'], { env, cwd: dir });
    assert.equal(pruneEnded, 0, 'prune still ran when the second backup asked for its lock');
    assert.ok(lockedClean(refused), `exit ${refused.code}: ${refused.stderr}`);
    assert.match(refused.stderr, /an exclusive lock held by PID/);
    const p = await prune;
    assert.equal(p.code, 0, p.stderr);
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /the repository is locked \(an exclusive lock held by PID \d+.*\); waiting up to 2m/);
    assert.ok(w.ended >= pruneEnded, 'the waiting backup finished after prune');
    // the refused backup left nothing; the waiting one made a snapshot
    assert.equal(JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout).length, 2);
    await consistent(repo, env, dir, expected);
  });

  it('a prune while a backup runs fails cleanly (exit 11); the backup completes', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await repository(t);
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'big.bin'), randomBytes(6 * 1024 * 1024));
    const expected = { src: await hashes(path.join(dir, 'src')) };
    const backup = hoard(['backup', 'src', '--tag', 'src', '--limit-upload', '1024'], { env, cwd: dir });
    await waitForLock(repo);
    const p = await hoard(['prune'], { env });
    assert.ok(lockedClean(p), `exit ${p.code}: ${p.stderr}`);
    assert.doesNotMatch(p.stderr, /exclusive/);
    const b = await backup;
    assert.equal(b.code, 0, b.stderr);
    await consistent(repo, env, dir, expected);
  });

  it('backup and prune started at the same moment, five times: each succeeds or exits 11, the repository stays whole', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await repository(t);
    await mkdir(path.join(dir, 'src'));
    const codes: number[] = [];
    const expected: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 5; i++) {
      await writeFile(path.join(dir, 'src', `f${i}.txt`), textLike(300_000, 40 + i));
      expected[`round${i}`] = await hashes(path.join(dir, 'src'));
      const [b, p] = await Promise.all([
        hoard(['backup', 'src', '--tag', `round${i}`], { env, cwd: dir }),
        hoard(['prune'], { env }),
      ]);
      for (const r of [b, p]) {
        assert.ok(r.code === 0 || lockedClean(r), `exit ${r.code}: ${r.stderr}`);
        codes.push(r.code);
      }
    }
    await consistent(repo, env, dir, expected, 'src');
    t.diagnostic(`exit codes of the five backup/prune pairs: ${codes.join(' ')}`);
  });

  it('two schedulers started at the same moment on one project: exactly one runs, the other exits 11 naming it', async (t) => {
    const dir = await tempDir(t, 'hoard-conc-sched-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const init = await hoard(['init', '--yes', '--no-backup', '--schedule', 'weekly on sunday at 03:00'], {
      cwd: dir,
      env: CLEAN_ENV,
    });
    assert.equal(init.code, 0, init.stderr);
    for (let round = 0; round < 5; round++) {
      const start = () => {
        const child = spawn(process.execPath, [CLI, 'scheduler', 'start'], {
          cwd: dir,
          env: { ...process.env, ...CLEAN_ENV },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        child.stderr!.on('data', (d) => {
          err += d;
        });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
        return { child, exited, err: () => err };
      };
      const both = [start(), start()];
      t.after(() => {
        for (const d of both) d.child.kill('SIGKILL');
      });
      const loser = await Promise.race(both.map((d) => d.exited.then(() => d)));
      const winner = both.find((d) => d !== loser)!;
      assert.equal(await loser.exited, 11, loser.err());
      assert.match(loser.err(), new RegExp(`a scheduler already runs for this project \\(pid ${winner.child.pid} `));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(winner.child.exitCode, null, `the winner keeps running: ${winner.err()}`);
      const pidFile = JSON.parse(await readFile(path.join(dir, '.hoard', 'scheduler.pid'), 'utf8')) as { pid: number };
      assert.equal(pidFile.pid, winner.child.pid);
      winner.child.kill('SIGTERM');
      assert.equal(await winner.exited, 0, winner.err());
    }
  });
});
