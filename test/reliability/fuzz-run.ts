/**
 * `npm run fuzz`: the long form of the fuzzing (node fuzz-run.js run; without `run` it does nothing,
 * so that a test runner loading every file is not affected). HOARD_FUZZ_CASES sets the count per
 * target (default 20,000; at most 5,000 API requests), HOARD_FUZZ_SEED the seed, HOARD_FUZZ_TARGETS
 * a comma-separated choice of targets ("API requests" for the server).
 */
import { TARGETS } from './fuzz-targets.js';
import { figuresLine, fuzzTarget } from './fuzz.js';
import { fuzzApi } from './fuzz-api.js';
import { servedProject } from './served-project.js';

if (process.argv[2] === 'run') {
  const cases = Number(process.env.HOARD_FUZZ_CASES) || 20_000;
  const seed = Number(process.env.HOARD_FUZZ_SEED) || 1;
  const only = process.env.HOARD_FUZZ_TARGETS?.split(',');
  let bad = 0,
    total = 0;
  for (const t of TARGETS.filter((x) => !only || only.includes(x.name))) {
    const f = await fuzzTarget(t, cases, seed);
    console.log(figuresLine(f));
    for (const c of [...f.crashes, ...f.hangs].slice(0, 5)) console.log(`  ${c}`);
    bad += f.crashes.length + f.hangs.length;
    total += f.cases;
  }
  if (!only || only.includes('API requests')) {
    const cleanups: (() => unknown)[] = [];
    try {
      const p = await servedProject({
        after: (fn: () => unknown) => {
          cleanups.push(fn);
        },
      } as never);
      const f = await fuzzApi(p.base, p.token, Math.min(cases, 5000), seed);
      console.log(figuresLine(f));
      for (const c of [...f.crashes, ...f.hangs].slice(0, 5)) console.log(`  ${c}`);
      bad += f.crashes.length + f.hangs.length;
      total += f.cases;
    } finally {
      for (const fn of cleanups.reverse()) await fn();
    }
  }
  console.log(`\ntotal: ${total} cases, ${bad} crashes or hangs`);
  process.exitCode = bad ? 1 : 0;
}
