import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineNotes } from './line-notes.js';

describe('line notes', () => {
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
