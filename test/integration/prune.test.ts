/**
 * Prune on real disk, checked by restic: the space freed matches the plan, `kill -9` at any moment
 * leaves a repository both hoard and `restic check --read-data` accept with every kept snapshot
 * restorable, and hoard prunes repositories restic wrote.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { CLI, hoard, needRestic, restic, tempDir } from '../helpers/services.js';

const PW = 'prune test password';
const KILLS = Number(process.env.HOARD_TORTURE_KILLS ?? 5);

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  return n;
}

/** A repository with six stream snapshots sharing a base; three are forgotten. Returns the kept contents by id. */
async function forgotten(dir: string): Promise<{ repo: string; env: NodeJS.ProcessEnv; kept: Map<string, Buffer> }> {
  const repo = path.join(dir, 'repo');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
  assert.equal((await hoard(['init'], { env })).code, 0);
  const base = textLike(4 << 20, 99);
  const ids: string[] = [];
  const data = new Map<string, Buffer>();
  for (let i = 0; i < 6; i++) {
    const d = Buffer.concat([base, textLike(1 << 20, i + 1)]);
    const b = await hoard(['backup', '--stdin', '--stdin-filename', 'db.sql', '--json'], { env, input: d });
    assert.equal(b.code, 0, b.stderr);
    const id = JSON.parse(b.stdout).snapshot_id as string;
    ids.push(id);
    data.set(id, d);
  }
  const gone = [ids[0], ids[2], ids[4]];
  assert.equal((await hoard(['forget', ...gone.map((x) => x.slice(0, 12))], { env })).code, 0);
  for (const g of gone) data.delete(g);
  return { repo, env, kept: data };
}

async function assertIntact(
  repo: string,
  env: NodeJS.ProcessEnv,
  kept: Map<string, Buffer>,
  why: string,
  t: import('node:test').TestContext,
): Promise<void> {
  const chk = await hoard(['check', '--read-data'], { env });
  assert.equal(chk.code, 0, `${why}: hoard check: ${chk.stdout}${chk.stderr}`);
  if (await needRestic(t)) {
    const rc = await restic(repo, PW, ['check', '--read-data']);
    assert.equal(rc.code, 0, `${why}: restic check: ${rc.stdout}${rc.stderr}`);
  }
  for (const [id, want] of kept) {
    const d = await hoard(['dump', id.slice(0, 12), '/db.sql'], { env });
    assert.equal(d.code, 0, `${why}: dump ${id.slice(0, 8)}: ${d.stderr}`);
    assert.ok(d.stdoutBuf.equals(want), `${why}: snapshot ${id.slice(0, 8)} restores byte for byte`);
  }
}

/** Asserts that hoard's dry-run plan and restic's (`prune --dry-run -vv`) name the same packs for each limit; returns hoard's counts. */
async function sameChoices(
  repo: string,
  env: NodeJS.ProcessEnv,
  limits: string[],
): Promise<{ limit: string; repack: number; remove: number }[]> {
  const ids = (x: string | undefined) => (x ?? '').replace(/[{}]/g, '').split(/\s+/).filter(Boolean).sort();
  const out = [];
  for (const limit of limits) {
    const h = await hoard(['prune', '--dry-run', '--json', '--max-unused', limit], { env });
    assert.equal(h.code, 0, h.stderr);
    const plan = JSON.parse(h.stdout) as { remove: string[]; repack: string[] };
    const r = await restic(repo, PW, ['prune', '--dry-run', '-vv', '--max-unused', limit]);
    assert.equal(r.code, 0, r.stderr);
    const repack = /repacked and removed the following packs:\n(\{[^}]*\})/.exec(r.stdout)?.[1];
    const remove = /removed the following no longer used packs:\n(\{[^}]*\})/.exec(r.stdout)?.[1];
    assert.ok(repack && remove, `restic printed its plan: ${r.stdout}`);
    assert.deepEqual(
      plan.repack.map((x) => x.slice(0, 8)).sort(),
      ids(repack),
      `--max-unused ${limit}: packs to repack`,
    );
    assert.deepEqual(
      plan.remove.map((x) => x.slice(0, 8)).sort(),
      ids(remove),
      `--max-unused ${limit}: packs to delete`,
    );
    out.push({ limit, repack: plan.repack.length, remove: plan.remove.length });
  }
  return out;
}

describe('prune on disk', () => {
  it('frees what the dry run planned (within one pack), and restic agrees the result is sound', async (t) => {
    const dir = await tempDir(t, 'hoard-prune-');
    const { repo, env, kept } = await forgotten(dir);
    const plan = JSON.parse((await hoard(['prune', '--dry-run', '--json'], { env })).stdout);
    assert.equal(plan.dry_run, true);
    assert.ok(plan.remove.length + plan.repack.length > 0, 'there is something to prune');
    const before = await dirBytes(repo);
    const r = await hoard(['prune', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const sum = JSON.parse(r.stdout);
    const after = await dirBytes(repo);
    const packsFreed = sum.freedActual;
    assert.ok(
      Math.abs(before - after - packsFreed) < 64 * 1024,
      `the data folder shrank by the reported bytes (index files aside): ${before - after} vs ${packsFreed}`,
    );
    assert.ok(Math.abs(packsFreed - plan.bytes.freed) <= 16 << 20, `freed ${packsFreed}, planned ${plan.bytes.freed}`);
    assert.ok(packsFreed > 0 && plan.blobs.unused > 0, 'the forgotten tails are gone');
    await assertIntact(repo, env, kept, 'after prune', t);
    const again = JSON.parse((await hoard(['prune', '--json'], { env })).stdout);
    assert.equal(again.freedActual, 0);
  });

  it(`kill -9 at ${KILLS} moments: hoard check, restic check --read-data and every kept snapshot stay good`, async (t) => {
    const dir = await tempDir(t, 'hoard-prune-kill-');
    const { repo: template, kept } = await forgotten(dir);
    // how long a whole prune takes, on a copy
    const timed = path.join(dir, 'timed');
    await cp(template, timed, { recursive: true });
    const t0 = Date.now();
    assert.equal((await hoard(['prune'], { env: { HOARD_REPOSITORY: timed, HOARD_PASSWORD: PW } })).code, 0);
    const full = Date.now() - t0;
    let interrupted = 0;
    for (let i = 0; i < KILLS; i++) {
      const repo = path.join(dir, `kill-${i}`);
      await cp(template, repo, { recursive: true });
      const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
      const child = spawn(process.execPath, [CLI, 'prune'], { env: { ...process.env, ...env }, stdio: 'ignore' });
      const delay = Math.round((full * (i + 0.5)) / KILLS);
      const exited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(false);
        }, delay);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('close', r)));
      if (!exited) interrupted++;
      assert.equal((await hoard(['unlock'], { env })).code, 0, "the dead prune's lock is stale");
      await assertIntact(repo, env, kept, `killed after ${delay} ms`, t);
      assert.equal((await hoard(['prune'], { env })).code, 0);
      await assertIntact(repo, env, kept, `pruned again after the kill at ${delay} ms`, t);
    }
    assert.ok(interrupted > 0, 'at least one prune was killed mid-way');
  });

  it('chooses the same packs to delete and repack as restic prune, for every --max-unused', async (t) => {
    if (!(await needRestic(t))) return;
    const { repo, env } = await forgotten(await tempDir(t, 'hoard-prune-oracle-'));
    const choices = await sameChoices(repo, env, ['0%', '5%', '30%', '100k', '10M', 'unlimited']);
    assert.ok(
      choices.some((c) => c.repack > 0) && choices.some((c) => c.repack === 0),
      'the limits lead to different choices',
    );
  });

  it('merges tiny fully used packs as restic prune does, once there are ten', async (t) => {
    if (!(await needRestic(t))) return;
    const dir = await tempDir(t, 'hoard-prune-tiny-');
    const repo = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    for (let i = 0; i < 6; i++) {
      const b = await hoard(['backup', '--stdin', '--stdin-filename', `t${i}.sql`], {
        env,
        input: textLike(60_000, 300 + i),
      });
      assert.equal(b.code, 0, b.stderr);
    }
    // six backups: six tiny data packs and six tiny tree packs, all used
    const choices = await sameChoices(repo, env, ['5%', 'unlimited']);
    assert.ok(
      choices.every((c) => c.repack === 12),
      `all twelve tiny packs are merged: ${JSON.stringify(choices)}`,
    );
  });

  it('prunes a repository restic wrote; restic checks and restores it afterwards', async (t) => {
    if (!(await needRestic(t))) return;
    const dir = await tempDir(t, 'hoard-prune-restic-');
    const repo = path.join(dir, 'repo');
    assert.equal((await restic(repo, PW, ['init'])).code, 0);
    const base = textLike(4 << 20, 7);
    const data: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      data.push(Buffer.concat([base, textLike(1 << 20, 50 + i)]));
      assert.equal(
        (
          await restic(repo, PW, ['backup', '--stdin', '--stdin-filename', 'x.sql', '--tag', `n${i}`], {
            input: data[i],
          })
        ).code,
        0,
      );
    }
    const snaps = JSON.parse((await restic(repo, PW, ['snapshots', '--json'])).stdout) as {
      id: string;
      tags: string[];
    }[];
    const gone = snaps.filter((s) => s.tags[0] === 'n0' || s.tags[0] === 'n2').map((s) => s.id);
    assert.equal(gone.length, 2);
    assert.equal((await restic(repo, PW, ['forget', ...gone])).code, 0);
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
    const r = await hoard(['prune', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const sum = JSON.parse(r.stdout);
    assert.ok(sum.freedActual > 0 && sum.blobs.unused > 0, "the forgotten snapshots' data is gone");
    const chk = await restic(repo, PW, ['check', '--read-data']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    for (const i of [1, 3]) {
      const d = await restic(repo, PW, ['dump', '--tag', `n${i}`, 'latest', '/x.sql']);
      assert.equal(d.code, 0, d.stderr);
      assert.ok(d.stdoutBuf.equals(data[i]), `restic dumps n${i} byte for byte`);
    }
  });
});
