/**
 * `npm run torture`: the long form of the kill -9 runs (HOARD_TORTURE_ITERATIONS per operation,
 * default 200), then the full damage sweep (7 damages per repository file type), printing the figures
 * docs/reliability.md reports. HOARD_TORTURE_OPS chooses among backup, prune, copy, restore and
 * sweep. Run: node torture.js run
 * (without `run` it exits at once, so that a test runner that loads every file does nothing).
 */
import { type KillFigures, type Operation, killTorture } from './kill.js';
import { damageSweep } from './damage-sweep.js';

if (process.argv[2] === 'run') {
  const n = Number(process.env.HOARD_TORTURE_ITERATIONS) || 200;
  const chosen = process.env.HOARD_TORTURE_OPS?.split(',') ?? ['backup', 'prune', 'copy', 'restore', 'sweep'];
  const ops = chosen.filter((o) => o !== 'sweep') as Operation[];
  const all: KillFigures[] = [];
  let sweepProblems = 0;
  if (chosen.includes('sweep')) {
    const t0 = Date.now();
    const s = await damageSweep({ seed: Number(process.env.HOARD_TORTURE_SEED) || 1 });
    console.log(
      `damage sweep: ${s.cases} damaged repositories (${Object.entries(s.byKind)
        .map(([k, n]) => `${n} ${k}`)
        .join(
          ', ',
        )}), ${s.detected} detected, ${s.harmless} harmless, ${s.problems.length} problems, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    for (const p of s.problems) console.log(`  PROBLEM ${p}`);
    sweepProblems = s.problems.length;
  }
  for (const op of ops) {
    const t0 = Date.now();
    const f = await killTorture(op, n, Number(process.env.HOARD_TORTURE_SEED) || 1);
    all.push(f);
    console.log(
      `${op}: ${f.kills} kills (${f.completed} runs finished first), ${f.inconsistent} inconsistent, ${f.snapshotsLost} snapshots lost, ${f.restoresChecked} restores compared, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    for (const p of f.problems) console.log(`  PROBLEM ${p}`);
  }
  const sum = (k: 'kills' | 'inconsistent' | 'snapshotsLost' | 'restoresChecked') => all.reduce((a, f) => a + f[k], 0);
  console.log(
    `\ntotal: ${sum('kills')} kills injected, ${sum('inconsistent')} inconsistent, ${sum('snapshotsLost')} snapshots lost, ${sum('restoresChecked')} restores compared`,
  );
  process.exitCode = sum('inconsistent') + sum('snapshotsLost') + sweepProblems > 0 ? 1 : 0;
}
