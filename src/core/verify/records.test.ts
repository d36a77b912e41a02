/**
 * Verification records read back as advice: a forged or malformed record cannot outrank real ones
 * or pass without checks; and a failure stands until a newer verification that proves at least as
 * much passes, on the same backup or a newer one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type VerificationRecord, decodeVerification, standingVerification } from './records.js';

const rec = (o: Partial<VerificationRecord>): VerificationRecord => ({
  snapshot: 'a'.repeat(64),
  original: 'a'.repeat(64),
  level: 'read-back',
  ok: true,
  at: '2026-12-01T00:00:00.000Z',
  duration_ms: 1,
  checks: [{ name: 'x', ok: o.ok ?? true, message: '' }],
  message: '',
  hostname: 'h',
  program_version: 'hoard 1',
  ...o,
});
const json = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...rec({}), ...o }));

describe('verification records', () => {
  it('a record passes only with checks that all passed; a time that is not one, or lies ahead, is not believed', () => {
    assert.equal(decodeVerification(json({ ok: true, checks: [] }))?.ok, false);
    assert.equal(decodeVerification(json({ ok: true, checks: [{ name: 'a', ok: false }] }))?.ok, false);
    assert.equal(decodeVerification(json({ ok: true }))?.ok, true);
    assert.equal(decodeVerification(json({ at: 'garbage' })), undefined);
    assert.equal(
      decodeVerification(json({ at: '9999-01-01T00:00:00Z' }), Date.parse('2026-12-03T00:00:00Z')),
      undefined,
    );
    assert.equal(decodeVerification(json({ at: '2026-12-01T01:00:00+01:00' }))?.at, '2026-12-01T00:00:00.000Z');
    assert.equal(decodeVerification(json({ subset: 7 }))?.subset, undefined);
  });

  it('a failure stands until a pass of at least its level; a subset read-back clears only a quick failure', () => {
    const t = (h: number) => new Date(Date.UTC(2026, 11, 1, h)).toISOString();
    const drillFail = rec({ level: 'drill', ok: false, at: t(1) });
    assert.deepEqual(standingVerification([drillFail, rec({ level: 'read-back', at: t(2) })]).failing, [drillFail]);
    assert.deepEqual(standingVerification([drillFail, rec({ level: 'drill', at: t(3) })]).failing, []);
    const full = rec({ level: 'read-back', ok: false, at: t(1) });
    const s = standingVerification([full, rec({ level: 'read-back', subset: 0.01, at: t(2) })]);
    assert.deepEqual(s.failing, [full], 'a 1% read-back may not have read the damaged pack');
    assert.equal(s.shown, full);
    const quick = rec({ level: 'quick', ok: false, at: t(1) });
    assert.deepEqual(standingVerification([quick, rec({ level: 'read-back', subset: 0.05, at: t(2) })]).failing, []);
  });

  it("a pass on an older backup does not clear a newer backup's failure", () => {
    const newer = rec({ snapshot: 'b'.repeat(64), level: 'drill', ok: false, at: '2026-12-01T01:00:00.000Z' });
    const older = rec({ snapshot: 'c'.repeat(64), level: 'drill', at: '2026-12-01T02:00:00.000Z' });
    const time = (r: VerificationRecord) => (r.snapshot === newer.snapshot ? 2000 : 1000);
    assert.deepEqual(standingVerification([newer, older], time).failing, [newer]);
    assert.deepEqual(
      standingVerification([older, { ...newer, ok: true, at: '2026-12-01T03:00:00.000Z' }], time).failing,
      [],
    );
  });
});
