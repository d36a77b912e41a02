/**
 * `npm run torture`: the long form of the kill -9 runs (HOARD_TORTURE_ITERATIONS per operation,
 * default 200), printing the figures docs/reliability.md reports. Run: node torture.js run
 * (without `run` it exits at once, so that a test runner that loads every file does nothing).
 */
import { type KillFigures, type Operation, killTorture } from './kill.js';

if (process.argv[2] === 'run') {
  const n = Number(process.env.HOARD_TORTURE_ITERATIONS) || 200;
  const ops = (process.env.HOARD_TORTURE_OPS?.split(',') ?? ['backup', 'prune', 'copy', 'restore']) as Operation[];
  const all: KillFigures[] = [];
  for (const op of ops) {
    const t0 = Date.now();
    const f = await killTorture(op, n, Number(process.env.HOARD_TORTURE_SEED) || 1);
    all.push(f);
    console.log(`${op}: ${f.kills} kills (${f.completed} runs finished first), ${f.inconsistent} inconsistent, ${f.snapshotsLost} snapshots lost, ${f.restoresChecked} restores compared, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const p of f.problems) console.log(`  PROBLEM ${p}`);
  }
  const sum = (k: 'kills' | 'inconsistent' | 'snapshotsLost' | 'restoresChecked') => all.reduce((a, f) => a + f[k], 0);
  console.log(`\ntotal: ${sum('kills')} kills injected, ${sum('inconsistent')} inconsistent, ${sum('snapshotsLost')} snapshots lost, ${sum('restoresChecked')} restores compared`);
  process.exitCode = sum('inconsistent') + sum('snapshotsLost') > 0 ? 1 : 0;
}
