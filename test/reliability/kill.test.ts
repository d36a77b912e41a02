/**
 * kill -9 during backup, prune, copy and restore, in a short form for CI (`npm run torture` runs
 * the long form): after every kill the repositories check clean with hoard and restic
 * (--read-data), every snapshot restores to exactly what was backed up, and none is lost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { needRestic } from '../helpers/services.js';
import { type Operation, killTorture } from './kill.js';

const ITERATIONS = Number(process.env.HOARD_TORTURE_ITERATIONS) || 10;

describe('kill -9 torture (short)', () => {
  for (const op of ['backup', 'prune', 'copy', 'restore'] as Operation[]) {
    it(`${op}: ${ITERATIONS} kills, nothing inconsistent, nothing lost`, async (t) => {
      if (!(await needRestic(t))) return;
      const f = await killTorture(op, ITERATIONS, 7);
      t.diagnostic(JSON.stringify({ ...f, problems: f.problems.length }));
      assert.deepEqual(f.problems, []);
      assert.equal(f.inconsistent, 0);
      assert.equal(f.snapshotsLost, 0);
      assert.equal(f.kills + f.completed, ITERATIONS);
      assert.ok(
        f.kills >= ITERATIONS * 0.3,
        `runs were killed mid-way, not after they finished (${f.kills} of ${ITERATIONS})`,
      );
      assert.ok(f.restoresChecked > 0);
    });
  }
});
