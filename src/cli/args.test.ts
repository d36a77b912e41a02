import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isHoardError } from '../core/errors.js';
import { parseArgs } from './args.js';

describe('parseArgs', () => {
  const specs = { json: { type: 'boolean' as const, help: '' }, tag: { type: 'list' as const, help: '' } };
  it('parses flags, values and words after --', () => {
    assert.deepEqual(parseArgs(['--json', '--tag', 'a', '--tag=b', 'x', '--', '-c'], specs, 'backup'), { flags: { json: true, tag: ['a', 'b'] }, positionals: ['x'], rest: ['-c'] });
  });
  it('refuses names inherited from Object (found by the fuzzer: --constructor passed as a flag)', () => {
    for (const f of ['--constructor', '--__proto__=1', '--toString', '--hasOwnProperty']) {
      assert.throws(() => parseArgs([f, 'x'], specs, 'backup'), (e) => isHoardError(e, 'usage') && /unknown flag/.test(e.message), f);
    }
  });
});
