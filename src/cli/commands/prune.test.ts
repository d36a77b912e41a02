import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isHoardError } from '../../core/errors.js';
import { maxUnusedFlag } from './prune.js';

describe('--max-unused', () => {
  it('takes what restic takes: a share, a size or unlimited', () => {
    assert.equal(maxUnusedFlag(undefined), undefined);
    assert.equal(maxUnusedFlag('5%'), 0.05);
    assert.equal(maxUnusedFlag('0%'), 0);
    assert.equal(maxUnusedFlag('100%'), 1);
    assert.equal(maxUnusedFlag('unlimited'), 1);
    assert.deepEqual(maxUnusedFlag('100M'), { bytes: 100 * 1024 ** 2 });
    assert.deepEqual(maxUnusedFlag('1GB'), { bytes: 1e9 });
  });
  it('refuses the rest with one usage message that lists the forms', () => {
    for (const v of ['101%', '-5%', 'lots', '5 %%', '']) {
      assert.throws(
        () => maxUnusedFlag(v),
        (e) =>
          isHoardError(e, 'usage') && /a percentage from 0% to 100%, a size such as 100M, or unlimited/.test(e.message),
        v,
      );
    }
  });
});
