/** The chunker cuts exactly where restic cuts: same polynomial, same file → same blob ids. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { chunkBuffer } from '../../src/core/chunker/chunker.js';
import { needRestic, restic, tempDir } from '../helpers/services.js';
import { textLike } from '../helpers/data.js';

describe('chunker against restic', () => {
  it("produces restic's blob ids for a 20 MiB file", async (t) => {
    if (!(await needRestic(t))) return;
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    assert.equal((await restic(repo, 'pw', ['init', '--repository-version', '2'])).code, 0);
    const cfg = JSON.parse((await restic(repo, 'pw', ['cat', 'config'])).stdout);
    const data = textLike(20 * 1024 * 1024, 7);
    await writeFile(path.join(dir, 'data.txt'), data);
    const b = await restic(repo, 'pw', ['backup', '--json', 'data.txt'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const snapId = JSON.parse(b.stdout.trim().split('\n').at(-1)!).snapshot_id;
    const snap = JSON.parse((await restic(repo, 'pw', ['cat', 'snapshot', snapId])).stdout);
    const tree = JSON.parse((await restic(repo, 'pw', ['cat', 'blob', snap.tree])).stdout);
    const content: string[] = tree.nodes[0].content;
    const pol = BigInt(`0x${cfg.chunker_polynomial}`);
    let off = 0;
    const ours = chunkBuffer(pol, data).map((len) => {
      const id = createHash('sha256')
        .update(data.subarray(off, off + len))
        .digest('hex');
      off += len;
      return id;
    });
    assert.ok(content.length > 5);
    assert.deepEqual(ours, content);
  });
});
