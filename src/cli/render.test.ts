import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { paint, relative, size, span, table } from './render.js';

describe('rendering', () => {
  it('colours only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
    assert.equal(paint(true, {}).red('x'), '\u001b[31mx\u001b[39m');
    assert.equal(paint(false, {}).red('x'), 'x');
    assert.equal(paint(true, { NO_COLOR: '1' }).green('x'), 'x');
    assert.equal(paint(true, { TERM: 'dumb' }).bold('x'), 'x');
  });
  it('pads table columns by visible width', () => {
    const c = paint(true, {});
    const lines = table(
      ['A', 'Status'],
      [
        ['1', c.red('FAILED')],
        ['22', 'ok'],
      ],
      c,
    );
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '22  ok');
    assert.equal(lines[1].replace(/\u001b\[\d+m/g, ''), '1   FAILED');
  });
  it('prints human sizes and ages', () => {
    assert.deepEqual(
      [size(12), size(1536), size(80 * 1024), size(5 * 1024 ** 3), size(null)],
      ['12 B', '1.5 KiB', '80.0 KiB', '5.0 GiB', '-'],
    );
    assert.deepEqual(
      [span(45_000), span(12 * 60_000), span(5 * 3_600_000), span(3 * 86_400_000)],
      ['45 s', '12 min', '5 h', '3 d'],
    );
    assert.equal(relative(0, 7_200_000), '2 h ago');
    assert.equal(relative(7_200_000 + 30 * 86_400_000, 7_200_000), 'in 30 d');
  });
});
