import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SnapshotEntry } from '../core/index.js';
import { chooseSnapshot, parseTime, queryBackups } from './select.js';
import { planCleanup } from './cleanup.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 23, 12);

function snap(id: string, daysAgo: number, h: Record<string, unknown> = {}): SnapshotEntry {
  const timeMs = NOW - daysAgo * DAY;
  return {
    id: id.padEnd(64, '0'),
    timeMs,
    snapshot: {
      time: new Date(timeMs).toISOString(),
      tree: 't',
      paths: ['/x'],
      hostname: 'h',
      hoard: { kind: 'daily', source: { name: 'db', type: 'postgres' }, environment: 'dev', ...h },
    },
  };
}

const LIST = [
  snap('aa1', 10, { label: 'v1', expires_at: new Date(NOW - DAY).toISOString(), retention_days: 9 }),
  snap('ab2', 5, { label: 'v2', kind: 'manual' }),
  snap('bc3', 3, { label: 'v2', source: { name: 'files', type: 'files' } }),
  snap('cd4', 1, { pinned: true, expires_at: new Date(NOW - 1).toISOString() }),
  snap('de5', 0.5),
];

describe('choosing snapshots', () => {
  it('by unique prefix, latest (per source), label, --name --latest and --at', () => {
    assert.equal(chooseSnapshot(LIST, { ref: 'bc' }, NOW).id.slice(0, 3), 'bc3');
    assert.equal(chooseSnapshot(LIST, { ref: 'latest' }, NOW).id.slice(0, 3), 'de5');
    assert.equal(chooseSnapshot(LIST, { latest: true, source: 'files' }, NOW).id.slice(0, 3), 'bc3');
    assert.equal(chooseSnapshot(LIST, { ref: 'v1' }, NOW).id.slice(0, 3), 'aa1');
    assert.equal(chooseSnapshot(LIST, { name: 'v2', latest: true }, NOW).id.slice(0, 3), 'bc3');
    assert.equal(chooseSnapshot(LIST, { at: new Date(NOW - 4 * DAY).toISOString() }, NOW).id.slice(0, 3), 'ab2');
    assert.equal(chooseSnapshot(LIST, { at: '2 days ago', source: 'db' }, NOW).id.slice(0, 3), 'ab2');
  });
  it('refuses ambiguity and explains what is missing', () => {
    assert.throws(() => chooseSnapshot(LIST, { ref: 'a' }, NOW), /prefix a is ambiguous: aa100000 .*ab200000/);
    assert.throws(() => chooseSnapshot(LIST, { ref: 'v2' }, NOW), /the label v2 is on 2 snapshots/);
    assert.throws(() => chooseSnapshot(LIST, { ref: 'zzz' }, NOW), /no snapshot with id or label "zzz"/);
    assert.throws(() => chooseSnapshot(LIST, { at: '2000-01-01' }, NOW), /at or before .*; the first is aa100000/);
    assert.throws(
      () => chooseSnapshot(LIST, { latest: true, source: 'nope' }, NOW),
      /no snapshot of source nope found/,
    );
    assert.throws(() => chooseSnapshot(LIST, { ref: 'bc3', latest: true }, NOW), /not both/);
  });
  it('reads times: ISO, local dates (end of day), "N units ago"', () => {
    assert.equal(parseTime('2026-11-20T10:00:00Z', NOW), Date.UTC(2026, 10, 20, 10));
    assert.equal(parseTime('2026-11-20', NOW), new Date(2026, 10, 20, 23, 59, 59, 999).getTime());
    assert.equal(parseTime('2026-11-20 14:30', NOW), new Date(2026, 10, 20, 14, 30).getTime());
    assert.equal(parseTime('3 hours ago', NOW), NOW - 3 * 3_600_000);
    assert.throws(() => parseTime('last tuesday', NOW), /cannot read the time/);
  });
  it('filters by kind, days, environment, source and label', () => {
    const ids = (q: Parameters<typeof queryBackups>[1]) => queryBackups(LIST, q, NOW).map((e) => e.id.slice(0, 3));
    assert.deepEqual(ids({ kind: 'manual' }), ['ab2']);
    assert.deepEqual(ids({ days: 2 }), ['cd4', 'de5']);
    assert.deepEqual(ids({ source: 'files' }), ['bc3']);
    assert.deepEqual(ids({ environment: 'prod' }), []);
    assert.deepEqual(ids({ label: 'v2' }), ['ab2', 'bc3']);
  });
});

describe('cleanup plan', () => {
  it('removes expired and old snapshots, never pinned, manual, or the newest of a source, with every reason', () => {
    const plan = planCleanup(LIST, { expired: true, olderThanMs: 4 * DAY, timeZone: 'UTC' }, NOW);
    const by = Object.fromEntries(plan.decisions.map((d) => [d.record.id.slice(0, 3), [d.remove, d.reasons]]));
    assert.deepEqual(by.aa1, [true, ['expired 2026-11-22', 'older than 4 d']]);
    assert.deepEqual(by.ab2, [false, ['manual (never removed by policy)']]);
    assert.deepEqual(by.bc3, [false, ['newest of source:files (safety floor)']]);
    assert.deepEqual(by.cd4, [false, ['pinned']]);
    assert.deepEqual(by.de5, [false, ['newest of source:db (safety floor)']]);
    assert.deepEqual(
      planCleanup(LIST, {}, NOW).remove.map((r) => r.id.slice(0, 3)),
      ['aa1'],
      'the default is --expired',
    );
    assert.deepEqual(
      planCleanup(LIST, { olderThanMs: 4 * DAY }, NOW).applied.expired,
      false,
      'an explicit rule turns the expiry default off',
    );
  });
  it('refuses rules that would empty a source unless allowed', () => {
    const two = [snap('ee1', 9, { kind: 'daily' }), snap('ee2', 8, { kind: 'daily' })];
    assert.throws(
      () => planCleanup(two, { olderThanMs: DAY }, NOW),
      /would remove every backup of source:db .*nothing was removed/,
    );
    const ok = planCleanup(two, { olderThanMs: DAY, allowEmpty: true }, NOW);
    assert.deepEqual(
      ok.remove.map((r) => r.id.slice(0, 3)),
      ['ee1'],
      'the floor still keeps the newest',
    );
  });
});
