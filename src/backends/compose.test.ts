import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HoardError } from '../core/errors.js';
import type { Backend } from '../core/storage/backend.js';
import { createMemoryBackend } from '../core/storage/memory.js';
import { wrapBackend } from './compose.js';

const h = { type: 'data' as const, name: 'a'.repeat(64) };

/** A memory backend whose saves fail `failures` times with `error` first. */
function flaky(failures: number, error: () => HoardError): Backend & { calls: number } {
  const inner = createMemoryBackend();
  let left = failures;
  const b = Object.create(inner) as Backend & { calls: number };
  b.calls = 0;
  b.save = async (x, d, o) => {
    b.calls++;
    if (left-- > 0) throw error();
    return inner.save(x, d, o);
  };
  b.load = (x, o) => inner.load(x, o);
  return b;
}

describe('wrapBackend', () => {
  it('retries transient failures with growing backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    const inner = flaky(2, () => new HoardError('io', 'connection reset', { retryable: true }));
    const retried: number[] = [];
    const b = wrapBackend(inner, {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      backoffMs: 100,
      onRetry: (_op, n) => retried.push(n),
    });
    await b.save(h, Buffer.from('x'));
    assert.equal(inner.calls, 3);
    assert.deepEqual(retried, [1, 2]);
    assert.ok(sleeps[0] >= 75 && sleeps[0] <= 125, `${sleeps[0]}`);
    assert.ok(sleeps[1] >= 150 && sleeps[1] <= 250, `${sleeps[1]}`);
    assert.equal((await b.load(h)).toString(), 'x');
  });

  it('waits four times longer after a throttling reply', async () => {
    const sleeps: number[] = [];
    const b = wrapBackend(
      flaky(1, () => new HoardError('io', 'SlowDown', { retryable: true, context: { throttled: true } })),
      {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        backoffMs: 100,
      },
    );
    await b.save(h, Buffer.from('x'));
    assert.ok(sleeps[0] >= 300 && sleeps[0] <= 500, `${sleeps[0]}`);
  });

  it('does not retry what is not transient, and gives up after its attempts saying how many', async () => {
    const fatal = flaky(1, () => new HoardError('io', 'access denied'));
    await assert.rejects(wrapBackend(fatal, { sleep: async () => {} }).save(h, Buffer.from('x')), /access denied$/);
    assert.equal(fatal.calls, 1);
    const down = flaky(99, () => new HoardError('io', 'connection refused', { retryable: true }));
    await assert.rejects(
      wrapBackend(down, { sleep: async () => {}, attempts: 4 }).save(h, Buffer.from('x')),
      /connection refused \(after 4 attempts\)/,
    );
    assert.equal(down.calls, 4);
  });

  it('limits upload and download rates (KiB/s)', async () => {
    let slept = 0;
    const b = wrapBackend(createMemoryBackend(), {
      sleep: async (ms) => {
        slept += ms;
      },
      uploadKiBs: 256,
      downloadKiBs: 512,
    });
    await b.save(h, Buffer.alloc(1 << 20));
    assert.ok(slept >= 3900 && slept <= 4100, `1 MiB at 256 KiB/s waits ~4 s, waited ${slept}`);
    slept = 0;
    await b.load(h);
    assert.ok(slept >= 1900 && slept <= 2100, `1 MiB at 512 KiB/s waits ~2 s, waited ${slept}`);
  });

  it('runs at most `connections` operations at once', async () => {
    const inner = createMemoryBackend();
    let now = 0;
    let peak = 0;
    const slow = Object.create(inner) as Backend;
    slow.save = async (x, d) => {
      now++;
      peak = Math.max(peak, now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
      return inner.save(x, d);
    };
    const b = wrapBackend(slow, { connections: 3 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.save({ type: 'data', name: i.toString(16).padStart(64, '0') }, Buffer.from([i])),
      ),
    );
    assert.equal(peak, 3);
  });
});
