import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isHoardError } from '../core/errors.js';
import { parseArgs, parseSize } from './args.js';

describe('parseArgs', () => {
  const specs = { json: { type: 'boolean' as const, help: '' }, tag: { type: 'list' as const, help: '' } };
  it('parses flags, values and words after --', () => {
    assert.deepEqual(parseArgs(['--json', '--tag', 'a', '--tag=b', 'x', '--', '-c'], specs, 'backup'), {
      flags: { json: true, tag: ['a', 'b'] },
      positionals: ['x'],
      rest: ['-c'],
    });
  });
  it("takes another long name under the flag's own name (list --type is --kind)", () => {
    const kinds = {
      kind: { type: 'string' as const, aliases: ['type'], help: '' },
      yes: { type: 'boolean' as const, aliases: ['confirm'], help: '' },
    };
    assert.deepEqual(parseArgs(['--type', 'daily', '--confirm'], kinds, 'list').flags, { kind: 'daily', yes: true });
    assert.deepEqual(parseArgs(['--type=weekly'], kinds, 'list').flags, { kind: 'weekly' });
    assert.throws(
      () => parseArgs(['--sort', 'x'], kinds, 'list'),
      (e) => isHoardError(e, 'usage'),
    );
  });
  it('refuses names inherited from Object (found by the fuzzer: --constructor passed as a flag)', () => {
    for (const f of ['--constructor', '--__proto__=1', '--toString', '--hasOwnProperty']) {
      assert.throws(
        () => parseArgs([f, 'x'], specs, 'backup'),
        (e) => isHoardError(e, 'usage') && /unknown flag/.test(e.message),
        f,
      );
    }
  });
});

describe('parseSize', () => {
  it("reads decimal and binary units and restic's one-letter suffixes (powers of 1024)", () => {
    assert.equal(parseSize('500', '--x'), 500);
    assert.equal(parseSize('1.5KB', '--x'), 1500);
    assert.equal(parseSize('2MiB', '--x'), 2 * 1024 ** 2);
    assert.equal(parseSize('10M', '--x'), 10 * 1024 ** 2);
    assert.equal(parseSize('1g', '--x'), 1024 ** 3);
  });
  it('refuses anything else with a usage error naming the flag', () => {
    for (const v of ['', '5%', 'ten', '-1M', '1Q'])
      assert.throws(
        () => parseSize(v, '--min-size'),
        (e) => isHoardError(e, 'usage') && /--min-size must be a size/.test(e.message),
        v,
      );
  });
});
