/**
 * Retention from the CLI: cleanup plans then removes and prunes (space freed as planned), pins
 * hold, forget takes restic's flags, and bad input is refused with nothing lost: a policy that
 * empties a source, contradictory rules, zero or negative retention, a pin on a missing id, a
 * lock held by a running backup (waits up to --retry-lock, then exit 11).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { CLI, hoard, needRestic, restic, tempDir, waitForLock } from '../helpers/services.js';

const PW = 'retention cli';

async function repoWith(t: import('node:test').TestContext, n: number) {
  const dir = await tempDir(t, 'hoard-retention-');
  const repo = path.join(dir, 'repo');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '', CI: '1' };
  assert.equal((await hoard(['init'], { env })).code, 0);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = await hoard(['backup', '--stdin', '--stdin-filename', 'db.sql', '--kind', 'daily', '--json'], {
      env,
      input: Buffer.concat([textLike(1 << 20, 1), textLike(300_000, 10 + i)]),
    });
    assert.equal(b.code, 0, b.stderr);
    ids.push(JSON.parse(b.stdout).snapshot_id);
  }
  return { dir, repo, env, ids };
}

const snapshots = async (env: NodeJS.ProcessEnv) =>
  JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout) as { id: string; tags: string[] }[];

describe('retention from the CLI', () => {
  it('cleanup: the plan first, then removal and prune freeing what it planned; restic checks the result', async (t) => {
    const { repo, env, ids } = await repoWith(t, 4);
    const dry = await hoard(['cleanup', '--keep-last', '2', '--dry-run', '--json'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.deepEqual(plan.would_delete.map((r: { id: string }) => r.id).sort(), ids.slice(0, 2).sort());
    assert.equal((await snapshots(env)).length, 4, 'the dry run changed nothing');
    const text = await hoard(['cleanup', '--keep-last', '2', '--dry-run'], { env });
    assert.match(text.stdout, /remove\s+matched no keep rule/);
    assert.match(text.stdout, /keep\s+newest of host:.* \(safety floor\); keep-last 1\/2/);
    assert.match(text.stdout, /dry run: 2 backups would be removed, freeing about/);
    const real = await hoard(['cleanup', '--keep-last', '2', '--json'], { env });
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout);
    assert.equal(done.deleted_count, 2);
    assert.equal(done.pruned, true);
    assert.ok(
      Math.abs(done.total_size_freed - plan.total_size_freed) <= 16 << 20,
      `freed ${done.total_size_freed}, planned ${plan.total_size_freed}`,
    );
    assert.ok(done.total_size_freed > 0);
    assert.deepEqual((await snapshots(env)).map((s) => s.id).sort(), ids.slice(2).sort());
    assert.equal((await hoard(['check', '--read-data'], { env })).code, 0);
    if (await needRestic(t)) assert.equal((await restic(repo, PW, ['check', '--read-data'])).code, 0);
  });

  it('pin holds against every rule; unpin lets the rules decide; forget takes restic flags and --prune', async (t) => {
    const { env, ids } = await repoWith(t, 3);
    const pin = await hoard(['pin', ids[0].slice(0, 10), '--json'], { env });
    assert.equal(pin.code, 0, pin.stderr);
    const pinned = JSON.parse(pin.stdout).snapshot_id as string;
    assert.ok((await snapshots(env)).find((s) => s.id === pinned)?.tags.includes('pinned'), 'mirrored as a restic tag');
    const f = await hoard(['forget', '--keep-last', '1', '--prune', '--json'], { env });
    assert.equal(f.code, 0, f.stderr);
    const left = (await snapshots(env)).map((s) => s.id);
    assert.deepEqual(left.sort(), [pinned, ids[2]].sort(), 'the pinned one and the newest stay');
    assert.equal(JSON.parse(f.stdout).pruned, true);
    const del = await hoard(['delete', pinned.slice(0, 10)], { env });
    assert.equal(del.code, 1);
    assert.match(del.stderr, /is pinned; nothing was deleted/);
    assert.equal((await hoard(['unpin', pinned.slice(0, 10)], { env })).code, 0);
    const again = await hoard(['forget', '--keep-last', '1', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await snapshots(env)).length, 1);
    const missing = await hoard(['pin', 'abcdef123456'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no snapshot with id or label "abcdef123456"/);
  });

  it('refuses bad rules and changes nothing', async (t) => {
    const { env } = await repoWith(t, 2);
    const cases: [string[], RegExp][] = [
      [['forget', '--keep-tag', 'no-such-tag'], /the rules would remove every backup of .*nothing was removed/],
      [['forget', '--keep-daily', '0'], /keep-daily must be a whole number of 1 or more, not 0/],
      [['forget', '--keep-last', '-2'], /keep-last must be a whole number of 1 or more, not -2/],
      [['cleanup', '--older-than', '0'], /older-than must be a positive age, not zero/],
      [
        ['cleanup', '--older-than', '7', '--keep-within', '30d'],
        /contradictory rules: --older-than removes what --keep-within keeps/,
      ],
      [['forget'], /no policy was given/],
      [['cleanup', '--group-by', 'planet'], /--group-by takes source, host, paths and tags, not planet/],
      [['backup', '--stdin', '--retention', '0'], /--retention must be a number of days \(1 or more\), not 0/],
      [['cleanup', '--keep-within', '3w'], /--keep-within must be a duration such as 30d, 12h or 1y2m/],
    ];
    for (const [args, re] of cases) {
      const r = await hoard(args, { env, input: 'x' });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.equal((await snapshots(env)).length, 2);
    const ok = await hoard(['forget', '--keep-tag', 'no-such-tag', '--allow-empty', '--json'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).deleted_count, 1, '--allow-empty: the rules apply, the floor keeps the newest');
  });

  it('cleanup while a backup holds a lock waits up to --retry-lock, says so, then exits 11', async (t) => {
    const { repo, env } = await repoWith(t, 2);
    const child = spawn(process.execPath, [CLI, 'backup', '--stdin', '--stdin-filename', 'slow.sql'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.write('started');
    await waitForLock(repo);
    const t0 = Date.now();
    const r = await hoard(['cleanup', '--keep-last', '1', '--retry-lock', '2s'], { env });
    const waited = Date.now() - t0;
    child.stdin.end();
    await new Promise((res) => child.on('close', res));
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /the repository is locked \(.*\); waiting up to 2s/);
    assert.match(r.stderr, /repository is locked/);
    assert.ok(waited >= 2000, `waited ${waited} ms`);
    assert.equal((await snapshots(env)).length, 3, 'nothing was removed; the backup finished');
  });

  it('prune refuses a repository with a missing pack (exit 5) and deletes nothing', async (t) => {
    const { repo, env } = await repoWith(t, 2);
    const pack = (await readdir(path.join(repo, 'data'), { recursive: true })).find((f) => /[0-9a-f]{64}$/.test(f))!;
    await rm(path.join(repo, 'data', pack));
    const before = (await readdir(path.join(repo, 'index'))).length;
    const r = await hoard(['prune'], { env });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /prune refuses to run: .*nothing was deleted/);
    assert.match(r.stderr, /run `hoard check`/);
    assert.equal((await readdir(path.join(repo, 'index'))).length, before);
  });
});
