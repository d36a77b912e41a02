import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBackend } from '../storage/memory.js';
import { isHoardError } from '../errors.js';
import { initRepository } from './open.js';
import { acquireLock, waitForExclusive } from './locks.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const owner = { hostname: 'h', username: 'u', pid: process.pid, isProcessAlive: () => true };
const lockOptions = { clock: { now: () => Date.now() }, settleMs: 1, owner };
const lockCount = async (b: ReturnType<typeof createMemoryBackend>) => {
  let n = 0;
  for await (const _ of b.list('lock')) n++;
  return n;
};

describe('waitForExclusive', () => {
  it('passes a shared lock, waits out an exclusive one, and writes no lock itself', async () => {
    const mem = createMemoryBackend();
    const repo = await initRepository(mem, 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
    const shared = await acquireLock(repo, false, lockOptions);
    await waitForExclusive(repo, { ...lockOptions, retryMs: 0 });
    assert.equal(await lockCount(mem), 1, 'only the shared lock');
    await shared.release();

    const ex = await acquireLock(repo, true, lockOptions);
    await assert.rejects(
      waitForExclusive(repo, { ...lockOptions, retryMs: 0 }),
      (e) => isHoardError(e, 'locked') && /an exclusive lock held by PID/.test(e.message),
    );
    let told = '';
    const waiting = waitForExclusive(repo, {
      ...lockOptions,
      retryMs: 10_000,
      onWait: (h) => {
        told = h;
      },
    });
    setTimeout(() => void ex.release(), 150);
    await waiting;
    assert.match(told, /an exclusive lock/);
    assert.equal(await lockCount(mem), 0);
  });
});
