/** Deduplication and the parent snapshot: unchanged data is neither reread nor stored twice. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { hoard, tempDir } from '../helpers/services.js';

describe('deduplication', () => {
  it('a second backup after ~1% changed stores roughly the changed chunks', async (t) => {
    const dir = await tempDir(t);
    const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const size = 40 * 1024 * 1024;
    const data = textLike(size, 21);
    const first = JSON.parse(
      (await hoard(['backup', '--json', '--stdin', '--stdin-filename', 'dump.sql'], { env, input: data })).stdout,
    );
    assert.ok(first.data_added >= size * 0.99);
    const changed = Buffer.from(data);
    textLike(size / 100, 99).copy(changed, Math.floor(size / 2)); // 1% rewritten in one region
    const second = JSON.parse(
      (await hoard(['backup', '--json', '--stdin', '--stdin-filename', 'dump.sql'], { env, input: changed })).stdout,
    );
    // Chunks average ~1.5 MiB: a 1% edit in one region touches the chunk it starts in, its own
    // bytes, and the chunk where the cut points resynchronise — a handful of the ~27 chunks.
    assert.ok(first.data_blobs >= 15, `first backup cut ${first.data_blobs} chunks`);
    assert.ok(second.data_blobs <= 6, `second backup stored ${second.data_blobs} new chunks`);
    assert.ok(second.data_added < size * 0.25, `second backup added ${second.data_added} of ${size}`);
    const out = await hoard(['dump', 'latest', 'dump.sql'], { env });
    assert.ok(out.stdoutBuf.equals(changed));
  });

  it('unchanged files are skipped through the parent snapshot', async (t) => {
    const dir = await tempDir(t);
    const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    await fsp.mkdir(path.join(dir, 'src/a'), { recursive: true });
    for (let i = 0; i < 20; i++) await fsp.writeFile(path.join(dir, `src/a/f${i}.txt`), `file ${i}\n`);
    const one = JSON.parse((await hoard(['backup', '--json', 'src'], { env, cwd: dir })).stdout);
    assert.equal(one.files_new, 20);
    await fsp.writeFile(path.join(dir, 'src/a/f3.txt'), 'changed\n');
    const two = JSON.parse((await hoard(['backup', '--json', 'src'], { env, cwd: dir })).stdout);
    assert.equal(two.files_unmodified, 19);
    assert.equal(two.files_changed, 1);
    const three = JSON.parse((await hoard(['backup', '--json', 'src'], { env, cwd: dir })).stdout);
    assert.equal(three.files_unmodified, 20);
    assert.equal(three.data_blobs, 0, 'no file content stored again');
    assert.equal(three.tree_blobs, 0, 'no tree stored again: access times are not stored');
  });

  it('--exclude and --exclude-file leave matching paths out; --dry-run writes nothing', async (t) => {
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    await fsp.mkdir(path.join(dir, 'src/cache'), { recursive: true });
    for (const f of ['keep.txt', 'drop.tmp', 'cache/x', 'app.log']) await fsp.writeFile(path.join(dir, 'src', f), f);
    await fsp.writeFile(path.join(dir, 'ex'), '# comment\n*.log\n');
    const dry = await hoard(['backup', '--dry-run', 'src'], { env, cwd: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await fsp.readdir(path.join(repo, 'snapshots')), []);
    assert.deepEqual(await fsp.readdir(path.join(repo, 'index')), []);
    const dryStream = await hoard(['backup', '--dry-run', '--stdin', '--stdin-filename', 'big.sql'], {
      env,
      input: textLike(20 * 1024 * 1024, 4),
    });
    assert.equal(dryStream.code, 0, dryStream.stderr);
    const packs = (
      await Promise.all(
        (await fsp.readdir(path.join(repo, 'data'))).map((d) => fsp.readdir(path.join(repo, 'data', d))),
      )
    ).flat();
    assert.deepEqual(packs, [], 'a dry run stores no pack');
    assert.equal(
      (await hoard(['backup', '--exclude', '*.tmp', '-e', 'cache', '--exclude-file', 'ex', 'src'], { env, cwd: dir }))
        .code,
      0,
    );
    const ls = (await hoard(['ls', 'latest'], { env })).stdout;
    assert.match(ls, /keep\.txt/);
    for (const gone of ['drop.tmp', 'cache', 'app.log']) assert.doesNotMatch(ls, new RegExp(gone.replace('.', '\\.')));
  });
});
