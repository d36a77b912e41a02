/**
 * The damage sweep in CI: every repository file type (config, key, lock, snapshot, index, data pack,
 * tree pack) with flipped bytes and truncations (4 per file; HOARD_SWEEP_PER_FILE, up to 7);
 * check --read-data and restore after each. See
 * damage-sweep.ts for what is judged. `npm run torture` runs it too and prints the figures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { damageSweep } from './damage-sweep.js';

describe('damage sweep', () => {
  it('flips and truncations in every repository file type: detected or harmless, never wrong bytes, never a crash', async () => {
    const f = await damageSweep({ seed: 3, perFile: Number(process.env.HOARD_SWEEP_PER_FILE) || 4 });
    assert.deepEqual(f.problems, []);
    assert.equal(f.cases, 7 * (Number(process.env.HOARD_SWEEP_PER_FILE) || 4));
    assert.deepEqual(Object.keys(f.byKind).sort(), [
      'config',
      'data pack',
      'index',
      'key',
      'lock',
      'snapshot',
      'tree pack',
    ]);
    // every damage to an encrypted file was detected; only key and lock cases may be harmless
    assert.ok(
      f.detected >= f.cases - 2 * (Number(process.env.HOARD_SWEEP_PER_FILE) || 4),
      `detected ${f.detected} of ${f.cases}`,
    );
    assert.equal(f.detected + f.harmless, f.cases);
  });
});
