import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { instantOf, nextCron, nextDue, parseSchedule } from './schedule.js';

const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');
const sched = (t: string) => {
  const p = parseSchedule(t);
  assert.ok(p.ok, t);
  return p.schedule;
};

describe('schedule maths', () => {
  it('daily and weekly presets in a time zone', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0); // Monday
    assert.equal(iso(nextDue(sched('daily at 02:00'), undefined, now, 'UTC')), '2026-11-24T02:00Z');
    assert.equal(iso(nextDue(sched('daily at 02:00'), undefined, now, 'Asia/Tokyo')), '2026-11-23T17:00Z');
    assert.equal(
      iso(nextDue(sched('weekly on sunday at 03:00'), undefined, now, 'America/New_York')),
      '2026-11-29T08:00Z',
    );
    assert.equal(
      iso(nextDue(sched('CRON_TZ=Europe/Paris 0 9 * * 1-5'), undefined, now, 'UTC')),
      '2026-11-24T08:00Z',
      'CRON_TZ beats the default zone',
    );
  });

  it('DST in Europe/Paris: the spring gap runs when it ends, the autumn repeat runs once', () => {
    // 29 March 2026: 02:00 CET jumps to 03:00 CEST
    assert.equal(iso(nextCron('30 2 * * *', Date.UTC(2026, 2, 28, 12), 'Europe/Paris')), '2026-03-29T01:00Z');
    assert.equal(iso(instantOf(2026, 3, 29, 2, 30, 'Europe/Paris')), '2026-03-29T01:00Z');
    // 25 October 2026: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice
    const first = nextCron('30 2 * * *', Date.UTC(2026, 9, 24, 12), 'Europe/Paris');
    assert.equal(iso(first), '2026-10-25T00:30Z');
    assert.equal(
      iso(nextCron('30 2 * * *', first, 'Europe/Paris')),
      '2026-10-26T01:30Z',
      'not again at the second 02:30',
    );
    // an hourly job runs once per wall-clock hour: the repeated 02:00 is not run a second time
    assert.equal(iso(nextCron('0 * * * *', Date.UTC(2026, 9, 25, 0, 30), 'Europe/Paris')), '2026-10-25T02:00Z');
    assert.equal(
      iso(nextCron('0 * * * *', Date.UTC(2026, 2, 29, 0, 30), 'Europe/Paris')),
      '2026-03-29T01:00Z',
      'spring: 02:00 does not exist, 03:00 CEST does',
    );
  });

  it("month ends, leap days, and cron's day-of-month OR day-of-week", () => {
    assert.equal(iso(nextCron('0 0 31 * *', Date.UTC(2026, 0, 31, 1), 'UTC')), '2026-03-31T00:00Z');
    assert.equal(iso(nextCron('0 0 29 2 *', Date.UTC(2026, 0, 1), 'UTC')), '2028-02-29T00:00Z');
    assert.equal(
      iso(nextCron('0 0 1 * 1', Date.UTC(2026, 10, 24), 'UTC')),
      '2026-11-30T00:00Z',
      'a Monday before the 1st',
    );
    assert.equal(iso(nextCron('*/15 9-10 * * *', Date.UTC(2026, 10, 23, 10, 50), 'UTC')), '2026-11-24T09:00Z');
    assert.equal(iso(nextCron('0 12 * * 7', Date.UTC(2026, 10, 23), 'UTC')), '2026-11-29T12:00Z', '7 is Sunday too');
  });

  it('intervals count from the last run; a run missed while down is due at once, and only once', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    assert.equal(nextDue(sched('every 2 seconds'), now - 500, now, 'UTC'), now + 1500);
    assert.equal(nextDue(sched('every 6 hours'), undefined, now, 'UTC'), now, 'never ran: due now');
    const lastRun = Date.UTC(2026, 10, 20, 2, 0);
    const due = nextDue(sched('daily at 02:00'), lastRun, now, 'UTC');
    assert.ok(due <= now, 'three days down: overdue');
    assert.equal(iso(due), '2026-11-21T02:00Z');
    assert.equal(
      iso(nextDue(sched('daily at 02:00'), now, now, 'UTC')),
      '2026-11-24T02:00Z',
      'after the make-up run, the normal schedule',
    );
  });
});
