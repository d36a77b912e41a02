import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from '../config/index.js';
import type { TaskOutcome } from '../app/run-job.js';
import { type Task, createScheduler } from './scheduler.js';
import type { RunRow, SchedulerState } from './state.js';

/** An in-memory run history. */
function memoryState(rows: RunRow[] = []): SchedulerState & { rows: RunRow[] } {
  return {
    rows,
    start(task, trigger, started) {
      rows.push({
        id: rows.length + 1,
        task,
        trigger,
        started,
        ended: null,
        result: 'running',
        snapshots: [],
        bytes: 0,
        error: null,
      });
      return rows.length;
    },
    finish(id, r) {
      Object.assign(rows[id - 1], {
        ended: r.endedMs,
        result: r.result,
        snapshots: r.snapshots,
        bytes: r.bytes,
        error: r.error,
      });
    },
    last(task) {
      return [...rows].reverse().find((r) => r.task === task);
    },
    recent(n) {
      return [...rows].reverse().slice(0, n);
    },
    counts() {
      const m = new Map<string, { task: string; result: RunRow['result']; runs: number; last_ended: number | null }>();
      for (const r of rows) {
        const c = m.get(`${r.task}\0${r.result}`) ?? { task: r.task, result: r.result, runs: 0, last_ended: null };
        c.runs++;
        c.last_ended = Math.max(c.last_ended ?? 0, r.ended ?? 0) || null;
        m.set(`${r.task}\0${r.result}`, c);
      }
      return [...m.values()];
    },
    close() {},
  };
}

/** A clock that only moves when the scheduler sleeps (or a task takes time). */
function fakeTime(start: number) {
  let now = start;
  return {
    clock: { now: () => now },
    advance(ms: number) {
      now += ms;
    },
    sleep: async (ms: number) => {
      now += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

const ok: TaskOutcome = { result: 'succeeded', snapshots: ['s'], bytes: 1, error: null, hooks: [] };
const sched = (t: string) => {
  const p = parseSchedule(t);
  assert.ok(p.ok);
  return p.schedule;
};

function task(name: string, schedule: string, run: Task['run'], extra: Partial<Task> = {}): Task {
  return { name, schedule: sched(schedule), catchUp: true, timeZone: 'UTC', run, ...extra };
}

/** Runs the scheduler until `until` says stop (checked after each sleep), at most 10,000 turns. */
async function drive(s: ReturnType<typeof createScheduler>, until: () => boolean): Promise<void> {
  const done = s.run();
  for (let i = 0; i < 10_000 && !until(); i++) await new Promise((r) => setImmediate(r));
  s.stop('finish');
  await done;
}

describe('the scheduler loop (injected clock, no real waiting)', () => {
  it('runs on schedule; a run missed while down is made up once; catch_up false skips it', async () => {
    const t = fakeTime(Date.UTC(2026, 10, 23, 12, 0));
    const state = memoryState([
      {
        id: 1,
        task: 'nightly',
        trigger: 'schedule',
        started: Date.UTC(2026, 10, 20, 2, 0),
        ended: Date.UTC(2026, 10, 20, 2, 1),
        result: 'succeeded',
        snapshots: [],
        bytes: 0,
        error: null,
      },
    ]);
    const runs: string[] = [];
    const s = createScheduler(
      [
        task('nightly', 'daily at 02:00', async (trigger) => {
          runs.push(`${trigger}@${new Date(t.clock.now()).toISOString()}`);
          return ok;
        }),
      ],
      { clock: t.clock, sleep: t.sleep, state, log: () => {} },
    );
    await drive(s, () => runs.length >= 2);
    assert.equal(runs[0], 'catch-up@2026-11-23T12:00:00.000Z', 'three days down: one make-up run, at once');
    assert.equal(runs[1], 'schedule@2026-11-24T02:00:00.000Z', 'then the schedule');

    const t2 = fakeTime(Date.UTC(2026, 10, 23, 12, 0));
    const runs2: string[] = [];
    const s2 = createScheduler(
      [
        task(
          'nightly',
          'daily at 02:00',
          async (trigger) => {
            runs2.push(`${trigger}@${new Date(t2.clock.now()).toISOString()}`);
            return ok;
          },
          { catchUp: false },
        ),
      ],
      { clock: t2.clock, sleep: t2.sleep, state: memoryState([{ ...state.rows[0] }]), log: () => {} },
    );
    await drive(s2, () => runs2.length >= 1);
    assert.equal(runs2[0], 'schedule@2026-11-24T02:00:00.000Z', 'no make-up run');
  });

  it('never overlaps runs of one task; retries failures with backoff, then returns to the schedule', async () => {
    const t = fakeTime(Date.UTC(2026, 0, 1));
    const state = memoryState();
    let active = 0,
      maxActive = 0,
      calls = 0;
    const slow = task('slow', 'every 1 seconds', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      t.advance(5000); // takes longer than its interval
      await new Promise((r) => setImmediate(r));
      active--;
      return ok;
    });
    const flaky = task('flaky', 'every 1 hours', async () => {
      calls++;
      return calls <= 3 ? { result: 'failed', snapshots: [], bytes: 0, error: `boom ${calls}`, hooks: [] } : ok;
    });
    const s = createScheduler([slow, flaky], {
      clock: t.clock,
      sleep: t.sleep,
      state,
      log: () => {},
      retryDelaysMs: [1000, 4000],
    });
    await drive(s, () => state.rows.filter((r) => r.task === 'flaky').length >= 4);
    assert.equal(maxActive, 1, 'a run never starts while the previous one runs');
    const flakyRuns = state.rows.filter((r) => r.task === 'flaky');
    assert.deepEqual(
      flakyRuns.map((r) => r.trigger),
      ['schedule', 'retry', 'retry', 'schedule'],
    );
    assert.ok(
      flakyRuns[1].started - flakyRuns[0].ended! >= 1000 && flakyRuns[2].started - flakyRuns[1].ended! >= 4000,
      'backoff 1 s then 4 s',
    );
    assert.ok(
      flakyRuns[3].started - flakyRuns[0].started >= 3_600_000,
      'retries exhausted: the next run is the scheduled one',
    );
    assert.equal(flakyRuns[3].result, 'succeeded');
  });

  it('jitter spreads scheduled runs by a fixed share, within the bound; config reloads replace tasks', async () => {
    const t = fakeTime(Date.UTC(2026, 10, 23, 12, 0));
    const state = memoryState();
    const at: number[] = [];
    const s = createScheduler(
      [
        task(
          'spread',
          '0 * * * *',
          async () => {
            at.push(t.clock.now());
            return ok;
          },
          { jitterMs: 600_000 },
        ),
      ],
      { clock: t.clock, sleep: t.sleep, state, log: () => {} },
    );
    const runs = s.run();
    for (let i = 0; i < 10_000 && at.length < 3; i++) await new Promise((r) => setImmediate(r));
    for (const x of at) {
      const past = x % 3_600_000;
      assert.ok(past >= 0 && past < 600_000, `within 10 min after the hour: ${new Date(x).toISOString()}`);
    }
    assert.ok(new Set(at.map((x) => x % 3_600_000)).size > 1, 'different hours get different delays');
    const other: string[] = [];
    s.setTasks([
      task('other', 'every 30 seconds', async () => {
        other.push('x');
        return ok;
      }),
    ]);
    for (let i = 0; i < 10_000 && other.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.ok(other.length >= 2, 'the reloaded task runs');
    assert.deepEqual(
      s.status().map((x) => x.task),
      ['other'],
    );
    s.stop('finish');
    await runs;
  });

  it('an exclusive task (cleanup) waits for running work and runs alone', async () => {
    const t = fakeTime(Date.UTC(2026, 0, 1));
    const state = memoryState();
    const timeline: string[] = [];
    const mk = (name: string, ms: number, exclusive = false) =>
      task(
        name,
        'every 10 seconds',
        async () => {
          timeline.push(`${name}+`);
          t.advance(ms);
          await new Promise((r) => setImmediate(r));
          timeline.push(`${name}-`);
          return ok;
        },
        { exclusive },
      );
    const s = createScheduler([mk('a', 3000), mk('cleanup', 1000, true), mk('b', 2000)], {
      clock: t.clock,
      sleep: t.sleep,
      state,
      log: () => {},
    });
    await drive(s, () => state.rows.filter((r) => r.task === 'cleanup' && r.result === 'succeeded').length >= 2);
    for (let i = 0; i < timeline.length; i++) {
      if (timeline[i] === 'cleanup+')
        assert.equal(timeline[i + 1], 'cleanup-', `nothing runs beside the cleanup: ${timeline.join(' ')}`);
    }
    let open = 0;
    for (const ev of timeline) {
      if (ev === 'cleanup+') assert.equal(open, 0, `cleanup starts only when nothing runs: ${timeline.join(' ')}`);
      if (ev.endsWith('+')) open++;
      else open--;
    }
  });
});
