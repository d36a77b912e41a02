import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createMemoryBackend } from '../storage/memory.js';
import { initRepository } from '../repository/open.js';
import { backupStream } from '../backup/backup.js';
import { fixedClock } from '../clock.js';
import { exclusiveBytes, reachableBlobs } from './usage.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}
const info = { hostname: 'h', username: 'u', uid: 0, gid: 0, programVersion: 'test' };

describe('blob usage', () => {
  it('counts only the data no kept snapshot shares', async () => {
    const repo = await initRepository(createMemoryBackend(), 'pw', who, {
      kdf: { N: 1024, r: 1, p: 1 },
      compression: 'off',
    });
    const shared = randomBytes(16 << 20),
      onlyA = randomBytes(2 << 20),
      onlyB = randomBytes(1 << 20);
    const o = { clock: fixedClock(Date.UTC(2026, 0, 1)), info };
    const a = await backupStream(repo, { stream: once(Buffer.concat([shared, onlyA])), filename: 'a' }, o);
    const b = await backupStream(repo, { stream: once(Buffer.concat([shared, onlyB])), filename: 'b' }, o);
    const ra = await reachableBlobs(repo, [a.snapshot.tree]);
    assert.ok([...ra].some((k) => k.startsWith('tree:')) && [...ra].some((k) => k.startsWith('data:')));
    const freedA = await exclusiveBytes(repo, [a.snapshot.tree], [b.snapshot.tree]);
    // the chunk that spans the end of the shared part differs, so somewhat more than onlyA is exclusive
    assert.ok(freedA > onlyA.length && freedA < onlyA.length + shared.length / 2, `freed ${freedA}`);
    assert.equal(await exclusiveBytes(repo, [a.snapshot.tree], [a.snapshot.tree]), 0);
    assert.equal(await exclusiveBytes(repo, [], [b.snapshot.tree]), 0);
    const both = await exclusiveBytes(repo, [a.snapshot.tree, b.snapshot.tree], []);
    assert.ok(both > shared.length + onlyA.length + onlyB.length);
  });
});
