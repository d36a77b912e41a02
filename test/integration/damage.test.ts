/**
 * Damaged repositories: a truncated pack, a missing index, random bytes in a snapshot or key file.
 * Each gives a clear message and exit code, and no command writes wrong bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { hoard, tempDir } from '../helpers/services.js';

async function repoWithData(t: import('node:test').TestContext) {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: 'pw' };
  assert.equal((await hoard(['init'], { env })).code, 0);
  await fsp.mkdir(path.join(dir, 'src'));
  await fsp.writeFile(path.join(dir, 'src', 'a.sql'), textLike(3 * 1024 * 1024, 2));
  const b = JSON.parse((await hoard(['backup', '--json', 'src'], { env, cwd: dir })).stdout);
  return { dir, repo, env, snapshot: b.snapshot_id as string };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

async function overwrite(file: string, data: Buffer): Promise<void> {
  await fsp.chmod(file, 0o600);
  await fsp.writeFile(file, data);
}

describe('damaged repositories', () => {
  it('a truncated pack: check finds the size mismatch, restore fails without writing the file', async (t) => {
    const { dir, repo, env } = await repoWithData(t);
    const packs = await files(path.join(repo, 'data'));
    const sizes = await Promise.all(packs.map(async (p) => (await fsp.stat(p)).size));
    const big = packs[sizes.indexOf(Math.max(...sizes))];
    await overwrite(big, (await fsp.readFile(big)).subarray(0, 100_000));
    const c = await hoard(['check'], { env });
    assert.equal(c.code, 5);
    assert.match(c.stderr, new RegExp(`pack ${path.basename(big).slice(0, 8)}: size 100000 does not match`));
    assert.match(c.stdout, /snapshot [0-9a-f]{8} is damaged: \/src\/a\.sql/);
    const r = await hoard(['restore', 'latest', '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 5, r.stderr);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'out', 'src')), []);
  });

  it('a missing index file: check reports blobs missing from the index', async (t) => {
    const { repo, env } = await repoWithData(t);
    for (const f of await files(path.join(repo, 'index'))) await fsp.rm(f);
    const c = await hoard(['check'], { env });
    assert.equal(c.code, 5);
    assert.match(c.stdout + c.stderr, /not in the index/);
    assert.match(c.stdout, /not referenced in any index/);
  });

  it('random bytes in a snapshot file: listed as unreadable, other commands still work', async (t) => {
    const { dir, repo, env, snapshot } = await repoWithData(t);
    await fsp.writeFile(path.join(dir, 'src', 'b.txt'), 'second');
    const second = JSON.parse((await hoard(['backup', '--json', 'src'], { env, cwd: dir })).stdout).snapshot_id;
    await overwrite(path.join(repo, 'snapshots', snapshot), Buffer.from('garbage garbage garbage garbage garbage'));
    const s = await hoard(['snapshots', '--json'], { env });
    assert.equal(s.code, 0);
    assert.deepEqual(
      JSON.parse(s.stdout).map((x: { id: string }) => x.id),
      [second],
    );
    assert.match(s.stderr, new RegExp(`snapshot ${snapshot.slice(0, 8)} cannot be read`));
    const c = await hoard(['check'], { env });
    assert.equal(c.code, 5);
    assert.equal((await hoard(['restore', second, '--target', path.join(dir, 'out')], { env })).code, 0);
  });

  it('random bytes in the only key file: exit 5 with the key named, not a crash', async (t) => {
    const { repo, env } = await repoWithData(t);
    const [key] = await fsp.readdir(path.join(repo, 'keys'));
    await overwrite(path.join(repo, 'keys', key), Buffer.from([0x7b, 0x00, 0xff, 0x13, 0x37]));
    const r = await hoard(['snapshots'], { env });
    assert.equal(r.code, 5);
    assert.match(r.stderr, new RegExp(`key file ${key.slice(0, 8)} is damaged`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
