import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from './map-limit.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0,
      most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (x) => {
      most = Math.max(most, ++running);
      await tick(x);
      running--;
      return x * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(most, 2);
  });
  it('starts nothing after a failure and rejects only once the running calls have settled', async () => {
    const started: number[] = [];
    let settled = 0;
    const p = mapLimit([0, 1, 2, 3, 4, 5], 3, async (x) => {
      started.push(x);
      if (x === 0) throw new Error('first fails');
      await tick(20);
      settled++;
      return x;
    });
    await assert.rejects(p, /first fails/);
    assert.deepEqual(started, [0, 1, 2], 'no call started after the failure');
    assert.equal(settled, 2, 'the two running calls had finished before the rejection');
  });
});
