/**
 * The scheduler loop, with an injected clock and sleep (tests drive it without real waiting):
 * each task runs when its schedule is due, or when its source changed (after the debounce and the
 * minimum interval); no two runs of one task overlap; a failed run is retried with backoff; a run
 * missed while the daemon was down is made up once (unless `catchUp` is false). `stop('finish')`
 * lets running work finish and starts nothing new; `stop('abort')` aborts it (a backup aborted
 * leaves no partial snapshot). A run's error and warnings are redacted before they are recorded,
 * logged or passed on.
 */
import { type Schedule, nextDue } from '../config/index.js';
import { type Clock, redact } from '../core/index.js';
import type { TaskOutcome } from '../app/run-job.js';
import type { SchedulerState } from './state.js';

export interface ChangeTrigger {
  debounceMs: number;
  minIntervalMs: number;
  /** Starts watching; calls `changed` on each change; returns the stop function. */
  watch(changed: () => void): () => void;
}

export interface Task {
  name: string;
  schedule?: Schedule;
  onChange?: ChangeTrigger;
  catchUp: boolean;
  timeZone: string;
  /** Runs alone (cleanup and prune): nothing else starts while it runs, and it starts when nothing runs. */
  exclusive?: boolean;
  /** Spreads scheduled runs: each is delayed by a fixed pseudo-random share of this (per task and time). */
  jitterMs?: number;
  /** A watch that runs often (the archive watch): its starts and successes are not logged, only failures. */
  quiet?: boolean;
  run(trigger: string, signal: AbortSignal): Promise<TaskOutcome>;
}

export interface SchedulerDeps {
  clock: Clock;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  state: SchedulerState;
  log(line: string): void;
  /** Delays before the retries of a failed run (default 30 s, 2 min, 10 min). */
  retryDelaysMs?: number[];
  /** Called when a run starts and when it ends (notifications); must not throw. */
  onStart?(task: Task, trigger: string): void;
  onRun?(task: Task, trigger: string, outcome: TaskOutcome): void;
}

export interface TaskStatus {
  task: string;
  next_run: string | null;
  running: boolean;
  last: { result: string; started: string; error: string | null } | null;
}

export interface Scheduler {
  /** Runs until stopped. */
  run(): Promise<void>;
  stop(mode: 'finish' | 'abort'): void;
  /** Replaces the tasks (config reload); running work is not interrupted. */
  setTasks(tasks: Task[]): void;
  status(): TaskStatus[];
}

interface Slot {
  task: Task;
  startedAt: number;
  retry?: { attempt: number; at: number };
  dirtyAt?: number;
  unwatch?: () => void;
  skipBefore?: number;
}

/** A fixed share of `max` for a task and a due time (FNV-1a of both): the same run always gets the same delay. */
export function jitter(name: string, dueMs: number, max: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${name}@${dueMs}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h % Math.max(1, max);
}

export function createScheduler(initial: Task[], d: SchedulerDeps): Scheduler {
  const delays = d.retryDelaysMs ?? [30_000, 120_000, 600_000];
  const running = new Map<string, Promise<void>>();
  const slots = new Map<string, Slot>();
  const wake = new AbortController();
  const work = new AbortController();
  let waker = new AbortController();
  let stopping = false;
  const startedAt = d.clock.now();

  function install(tasks: Task[]): void {
    for (const s of slots.values()) s.unwatch?.();
    const old = new Map(slots);
    slots.clear();
    for (const t of tasks) {
      const s: Slot = { task: t, startedAt, retry: old.get(t.name)?.retry };
      const last = d.state.last(t.name);
      if (t.schedule && !t.catchUp && last) s.skipBefore = d.clock.now(); // no make-up run
      if (t.onChange)
        s.unwatch = t.onChange.watch(() => {
          s.dirtyAt = d.clock.now();
          waker.abort();
        });
      slots.set(t.name, s);
    }
  }

  /** When a task is due: its schedule (with jitter), a pending retry, or a debounced change, whichever is first. */
  function due(s: Slot, now: number): number | undefined {
    const last = d.state.last(s.task.name);
    const lastStart = last?.started;
    let when: number | undefined = s.retry?.at;
    if (s.task.schedule) {
      const anchor = Math.max(lastStart ?? s.startedAt, s.skipBefore ?? 0);
      let next =
        s.task.schedule.type === 'every' && lastStart === undefined
          ? now
          : nextDue(s.task.schedule, anchor, now, s.task.timeZone);
      if (s.task.jitterMs && s.task.schedule.type !== 'every') next += jitter(s.task.name, next, s.task.jitterMs);
      when = when === undefined ? next : Math.min(when, next);
    }
    if (s.task.onChange && s.dirtyAt !== undefined) {
      const c = s.task.onChange;
      const ready = Math.max(s.dirtyAt + c.debounceMs, (lastStart ?? 0) + c.minIntervalMs);
      when = when === undefined ? ready : Math.min(when, ready);
    }
    return when;
  }

  function launch(s: Slot, trigger: string): void {
    const t = s.task;
    const started = d.clock.now();
    if (trigger === 'on-change') s.dirtyAt = undefined;
    const id = d.state.start(t.name, trigger, started);
    if (!t.quiet) d.log(`${t.name}: started (${trigger})`);
    try {
      d.onStart?.(t, trigger);
    } catch {
      /* a notifier never fails a run */
    }
    const p = (async () => {
      let outcome: TaskOutcome;
      try {
        outcome = await t.run(trigger, work.signal);
      } catch (e) {
        const aborted = work.signal.aborted;
        outcome = {
          result: 'failed',
          snapshots: [],
          bytes: 0,
          error: aborted ? 'interrupted: the scheduler stopped' : (e as Error).message,
          hooks: [],
        };
        if (aborted) {
          d.state.finish(id, {
            result: 'interrupted',
            endedMs: d.clock.now(),
            snapshots: [],
            bytes: 0,
            error: outcome.error,
          });
          d.log(`${t.name}: interrupted`);
          return;
        }
      }
      // the run history, the log and the notifications keep no secret a message may quote
      outcome = {
        ...outcome,
        error: outcome.error === null ? null : redact(outcome.error),
        warnings: outcome.warnings?.map(redact),
      };
      d.state.finish(id, {
        result: outcome.result,
        endedMs: d.clock.now(),
        snapshots: outcome.snapshots,
        bytes: outcome.bytes,
        error: outcome.error,
      });
      for (const w of outcome.warnings ?? []) d.log(`${t.name}: WARNING: ${w}`);
      const cur = slots.get(t.name) ?? s;
      if (outcome.result === 'failed') {
        const attempt = (cur.retry?.attempt ?? 0) + 1;
        cur.retry = attempt <= delays.length ? { attempt, at: d.clock.now() + delays[attempt - 1] } : undefined;
        d.log(
          `${t.name}: FAILED: ${outcome.error}${cur.retry ? ` (retry ${attempt} in ${Math.round(delays[attempt - 1] / 1000)} s)` : ' (no retries left; next scheduled run as usual)'}`,
        );
      } else {
        cur.retry = undefined;
        if (!t.quiet)
          d.log(
            `${t.name}: succeeded${outcome.snapshots.length ? ` (${outcome.snapshots.map((x) => x.slice(0, 8)).join(' ')})` : ''}`,
          );
      }
      try {
        d.onRun?.(t, trigger, outcome);
      } catch {
        /* a notifier never fails a run */
      }
    })().finally(() => {
      running.delete(t.name);
      waker.abort();
    });
    running.set(t.name, p);
  }

  install(initial);

  return {
    async run() {
      while (!stopping) {
        const now = d.clock.now();
        let next = now + 60_000;
        const alone = [...slots.values()].some((s) => s.task.exclusive && running.has(s.task.name));
        // an exclusive task that is due holds back new runs until the running ones finish
        const waiting = [...slots.values()].find(
          (s) => s.task.exclusive && !running.has(s.task.name) && (due(s, now) ?? Infinity) <= now,
        );
        for (const s of slots.values()) {
          if (running.has(s.task.name) || alone) continue;
          if (waiting && s !== waiting) continue;
          if (s.task.exclusive && running.size > 0) continue;
          const when = due(s, now);
          if (when === undefined) continue;
          if (when <= now) {
            const trigger =
              s.retry && s.retry.at <= now
                ? 'retry'
                : s.dirtyAt !== undefined && (!s.task.schedule || due({ ...s, dirtyAt: undefined }, now)! > now)
                  ? 'on-change'
                  : d.state.last(s.task.name) === undefined || when >= s.startedAt
                    ? 'schedule'
                    : 'catch-up';
            launch(s, trigger);
          } else next = Math.min(next, when);
        }
        waker = new AbortController();
        await d
          .sleep(Math.max(10, Math.min(next - d.clock.now(), 60_000)), AbortSignal.any([waker.signal, wake.signal]))
          .catch(() => {});
      }
      await Promise.allSettled([...running.values()]);
      for (const s of slots.values()) s.unwatch?.();
    },
    stop(mode) {
      stopping = true;
      if (mode === 'abort') work.abort();
      wake.abort();
    },
    setTasks(tasks) {
      install(tasks);
      waker.abort();
    },
    status() {
      const now = d.clock.now();
      return [...slots.values()].map((s) => {
        const last = d.state.last(s.task.name);
        const when = running.has(s.task.name) ? undefined : due(s, now);
        return {
          task: s.task.name,
          next_run: when === undefined ? null : new Date(Math.max(when, now)).toISOString(),
          running: running.has(s.task.name),
          last: last ? { result: last.result, started: new Date(last.started).toISOString(), error: last.error } : null,
        };
      });
    },
  };
}
