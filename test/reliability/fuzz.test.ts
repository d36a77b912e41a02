/**
 * Fuzzing, short form for CI: every parser of untrusted input gets HOARD_FUZZ_CI_CASES mutated and
 * random inputs (default 2,000 each), and a running `hoard serve` gets 400 fuzzed requests. No
 * crash, no hang, a clean rejection each time. `npm run fuzz` runs the long form.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS } from './fuzz-targets.js';
import { figuresLine, fuzzTarget } from './fuzz.js';
import { fuzzApi } from './fuzz-api.js';
import { servedProject } from './served-project.js';

const CASES = Number(process.env.HOARD_FUZZ_CI_CASES) || 2000;

describe('fuzzing', () => {
  for (const target of TARGETS) {
    it(`${target.name}: ${CASES} inputs, no crash, no hang`, async () => {
      const f = await fuzzTarget(target, CASES, 7);
      assert.equal(f.cases, CASES);
      assert.deepEqual([...f.crashes, ...f.hangs].slice(0, 5), [], figuresLine(f));
      // the valid seeds (the first inputs) and some mutations parse; with a parser that can refuse, some are refused
      assert.ok(f.accepted >= 1, figuresLine(f));
      if (!target.total) assert.ok(f.rejected > CASES / 100, figuresLine(f));
    });
  }

  it('API requests: 400 fuzzed bodies, ids and queries get a 2xx or a clean JSON 4xx', async (t) => {
    const p = await servedProject(t);
    const f = await fuzzApi(p.base, p.token, 400, 7);
    assert.deepEqual([...f.crashes, ...f.hangs].slice(0, 5), [], figuresLine(f));
    assert.ok(f.rejected > 100, `most fuzzed requests are refused (${f.rejected})`);
    // the server is still up and answers normally
    assert.equal((await fetch(`${p.base}/backups`, { headers: { authorization: `Bearer ${p.token}` } })).status, 200);
  });
});
