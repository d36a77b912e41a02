import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineNotes, backslashLine, noting } from './line-notes.js';

async function* pieces(text: string, size: number): AsyncGenerator<Buffer> {
  const b = Buffer.from(text);
  for (let o = 0; o < b.length; o += size) yield b.subarray(o, o + size);
}

describe('line notes', () => {
  it('notes the lines a predicate picks, by number and first bytes, whatever the chunk boundaries, and passes the bytes through', async () => {
    const text = `INSERT INTO t VALUES ('a\\\\b');\n${'x'.repeat(300)}\n  \\! touch /tmp/m\nsystem id\n\\T /tmp/${'y'.repeat(100)}`;
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const notes = new LineNotes();
      const out: Buffer[] = [];
      for await (const c of noting(pieces(text, size), notes, backslashLine)) out.push(c);
      assert.equal(Buffer.concat(out).toString(), text);
      assert.equal(notes.describe(1), 'line 1', 'a backslash later in the line is not picked');
      assert.equal(notes.describe(3), 'line 3 (`  \\! touch /tmp/m`)', `chunk size ${size}`);
      assert.equal(notes.describe(4), 'line 4');
      assert.equal(notes.describe(5), `line 5 (\`\\T /tmp/${'y'.repeat(52)}…\`)`, 'long lines are cut');
    }
  });

  it('keeps at most `max` lines and shows control characters as spaces', () => {
    const notes = new LineNotes(2);
    notes.add(1, Buffer.from('\\! a\r'));
    notes.add(2, Buffer.from('\\! b\x1b[2J'));
    notes.add(3, Buffer.from('\\! c'));
    assert.ok(notes.full);
    assert.equal(notes.describe(1), 'line 1 (`\\! a`)');
    assert.equal(notes.describe(2), 'line 2 (`\\! b [2J`)');
    assert.equal(notes.describe(3), 'line 3');
  });
});
