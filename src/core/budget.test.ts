import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Budget } from './budget.js';

describe('Budget', () => {
  it('never lets more than maxCount holders in, and wakes waiters as holders leave', async () => {
    const b = new Budget(3);
    let inside = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        await b.take();
        peak = Math.max(peak, ++inside);
        await new Promise((r) => setTimeout(r, 1));
        inside--;
        b.give();
      }),
    );
    assert.equal(peak, 3);
    assert.equal(b.held, 0);
  });

  it('limits total weight but always admits a single heavy holder', async () => {
    const b = new Budget(10, 100);
    await b.take(60);
    let second = false;
    const p = b.take(60).then(() => {
      second = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(second, false, 'a second 60 must wait while 60 of 100 is held');
    b.give(60);
    await p;
    assert.equal(second, true);
    b.give(60);
    await b.take(500); // alone, more than maxWeight still gets in
    b.give(500);
  });

  it('idle() resolves once every holder has given back', async () => {
    const b = new Budget(2);
    await b.take();
    let idle = false;
    const p = b.idle().then(() => {
      idle = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(idle, false);
    b.give();
    await p;
    assert.equal(idle, true);
  });
});
