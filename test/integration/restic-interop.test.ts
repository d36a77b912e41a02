/**
 * The no-lock-in promise, checked with the real restic binary: restic reads, checks and restores
 * what hoard writes, and hoard reads, checks and restores what restic writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { assertSameTree, makeSourceTree } from '../helpers/tree.js';

const PW = 'correct horse battery staple';

/** A temporary folder with a hoard repository in repo/ and (optionally) the awkward source tree in src/. */
async function hoardRepo(t: import('node:test').TestContext, opts: { tree?: boolean; init?: string[] } = {}) {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
  if (opts.tree !== false) await makeSourceTree(path.join(dir, 'src'));
  assert.equal((await hoard(['init', ...(opts.init ?? [])], { env })).code, 0);
  return { dir, repo, env };
}

describe('restic reads hoard repositories', () => {
  for (const compression of ['auto', 'off'] as const) {
    it(`files (--compression ${compression}): restic check --read-data and restore are exact`, async (t) => {
      if (!(await needRestic(t))) return;
      const { dir, repo, env } = await hoardRepo(t);
      const b = await hoard(['backup', '--compression', compression, '--json', 'src'], { env, cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      const chk = await restic(repo, PW, ['check', '--read-data']);
      assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      assert.match(chk.stdout, /no errors were found/);
      const r = await restic(repo, PW, ['restore', 'latest', '--target', path.join(dir, 'out')]);
      assert.equal(r.code, 0, r.stderr);
      await assertSameTree(path.join(dir, 'src'), path.join(dir, 'out', 'src'));
      const h = await hoard(['restore', 'latest', '--target', path.join(dir, 'out2')], { env });
      assert.equal(h.code, 0, h.stderr);
      await assertSameTree(path.join(dir, 'src'), path.join(dir, 'out2', 'src'));
    });
  }

  for (const compression of ['auto', 'off', 'max'] as const) {
    it(`a stream (--stdin, --compression ${compression}): restic dump gives the same bytes`, async (t) => {
      if (!(await needRestic(t))) return;
      const { repo, env } = await hoardRepo(t, { tree: false });
      const data = textLike(6 * 1024 * 1024 + 5, 11);
      const b = await hoard(
        ['backup', '--stdin', '--stdin-filename', 'dump.sql', '--compression', compression, '--tag', 'db'],
        { env, input: data },
      );
      assert.equal(b.code, 0, b.stderr);
      assert.equal((await restic(repo, PW, ['check', '--read-data'])).code, 0);
      const d = await restic(repo, PW, ['dump', 'latest', '/dump.sql']);
      assert.equal(d.code, 0, d.stderr);
      assert.ok(d.stdoutBuf.equals(data), 'restic dump equals the input');
      const snaps = JSON.parse((await restic(repo, PW, ['snapshots', '--json', '--tag', 'db'])).stdout);
      assert.equal(snaps.length, 1);
      assert.deepEqual(snaps[0].paths, ['/dump.sql']);
      const hd = await hoard(['dump', 'latest', '/dump.sql'], { env });
      assert.ok(hd.stdoutBuf.equals(data), 'hoard dump equals the input');
    });
  }

  it('a version 1 repository (no compression) is accepted by restic', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await hoardRepo(t, { init: ['--repository-version', '1'] });
    assert.equal((await hoard(['backup', 'src'], { env, cwd: dir })).code, 0);
    const chk = await restic(repo, PW, ['check', '--read-data']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
  });
});

describe('hoard reads restic repositories', () => {
  it('opens, lists, checks, restores and dumps what restic wrote', async (t) => {
    if (!(await needRestic(t))) return;
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repo, RESTIC_PASSWORD: PW };
    await makeSourceTree(path.join(dir, 'src'));
    assert.equal((await restic(repo, PW, ['init'])).code, 0);
    const b = await restic(repo, PW, ['backup', '--tag', 'from-restic', 'src'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const list = await hoard(['snapshots', '--json'], { env });
    assert.equal(list.code, 0, list.stderr);
    const snaps = JSON.parse(list.stdout);
    assert.equal(snaps.length, 1);
    assert.deepEqual(snaps[0].tags, ['from-restic']);
    assert.equal(snaps[0].short_id, snaps[0].id.slice(0, 8));
    const chk = await hoard(['check', '--read-data'], { env });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const r = await hoard(['restore', snaps[0].id.slice(0, 6), '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 0, r.stderr);
    await assertSameTree(path.join(dir, 'src'), path.join(dir, 'out', 'src'));
    const ls = await hoard(['ls', 'latest'], { env });
    assert.match(ls.stdout, /\/src\/dir\/big\.sql/);
  });

  it('keeps working after restic backs up into a hoard repository and runs forget --prune', async (t) => {
    if (!(await needRestic(t))) return;
    const { dir, repo, env } = await hoardRepo(t);
    assert.equal((await hoard(['backup', '--tag', 'first', 'src'], { env, cwd: dir })).code, 0);
    const rb = await restic(repo, PW, ['backup', '--tag', 'second', 'src'], { cwd: dir });
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(
      (
        await hoard(['backup', '--stdin', '--stdin-filename', 'x.sql', '--tag', 'third'], {
          env,
          input: textLike(2_000_000, 5),
        })
      ).code,
      0,
    );
    const first = JSON.parse((await hoard(['snapshots', '--json', '--tag', 'first'], { env })).stdout)[0].id;
    const fp = await restic(repo, PW, ['forget', first, '--prune']);
    assert.equal(fp.code, 0, fp.stdout + fp.stderr);
    const list = JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout);
    assert.deepEqual(list.map((s: { tags: string[] }) => s.tags[0]).sort(), ['second', 'third']);
    const chk = await hoard(['check', '--read-data'], { env });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const r = await hoard(['restore', 'latest', '--host', '', '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 0, r.stderr);
    const second = list.find((s: { tags: string[] }) => s.tags[0] === 'second');
    const r2 = await hoard(['restore', second.id, '--target', path.join(dir, 'out2')], { env });
    assert.equal(r2.code, 0, r2.stderr);
    await assertSameTree(path.join(dir, 'src'), path.join(dir, 'out2', 'src'));
    assert.equal((await restic(repo, PW, ['check', '--read-data'])).code, 0);
  });
});
