/**
 * Long operations started over the API run as tasks: an id, a status, progress events and a
 * result. In memory (a restarted server forgets its tasks; the results themselves are in the
 * repository). Listeners receive every event from the start (late subscribers get the history).
 * A failed task's error is redacted.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { type HoardEvent, isHoardError, redact } from '../core/index.js';

export type TaskStatus = 'running' | 'succeeded' | 'failed';

export interface TaskEvent {
  type: string;
  at: string;
  [key: string]: unknown;
}

export interface TaskView {
  id: string;
  kind: string;
  status: TaskStatus;
  started: string;
  ended: string | null;
  result: unknown;
  error: { kind: string; message: string; hint: string | null } | null;
}

interface Task extends TaskView {
  events: TaskEvent[];
  bus: EventEmitter;
}

export interface TaskManager {
  /** Starts `work`; `report` turns core events into task events; `signal` aborts when the manager does. Returns the task at once. */
  start(kind: string, work: (report: (e: HoardEvent) => void, signal: AbortSignal) => Promise<unknown>): TaskView;
  get(id: string): TaskView | undefined;
  /** Replays the task's events, then follows it; returns the unsubscribe function. Calls `end` when it has finished. */
  follow(id: string, on: (e: TaskEvent) => void, end: () => void): (() => void) | undefined;
  /** Resolves when no task runs (tasks started meanwhile included). */
  settled(): Promise<void>;
  /** Aborts every running task (they end as failed, kind "interrupted"). */
  abort(): void;
}

export function createTaskManager(now: () => number, keep = 200): TaskManager {
  const tasks = new Map<string, Task>();
  const running = new Set<Promise<unknown>>();
  const stop = new AbortController();
  const iso = () => new Date(now()).toISOString();
  const view = (t: Task): TaskView => ({
    id: t.id,
    kind: t.kind,
    status: t.status,
    started: t.started,
    ended: t.ended,
    result: t.result,
    error: t.error,
  });
  const push = (t: Task, e: Omit<TaskEvent, 'at'>) => {
    const ev = { ...e, at: iso() } as TaskEvent;
    t.events.push(ev);
    if (t.events.length > 1000) t.events.splice(1, 1);
    t.bus.emit('event', ev);
  };
  return {
    start(kind, work) {
      const t: Task = {
        id: randomBytes(8).toString('hex'),
        kind,
        status: 'running',
        started: iso(),
        ended: null,
        result: null,
        error: null,
        events: [],
        bus: new EventEmitter(),
      };
      tasks.set(t.id, t);
      if (tasks.size > keep) {
        // forget the oldest finished task; a running one is never dropped
        const old = [...tasks.values()].find((x) => x.status !== 'running');
        if (old) tasks.delete(old.id);
      }
      push(t, { type: 'started', kind });
      let last = 0;
      const p = work((e) => {
        if (now() - last >= 200) {
          last = now();
          push(t, { ...e, type: e.type });
        }
      }, stop.signal).then(
        (result) => {
          t.status = 'succeeded';
          t.result = result;
          t.ended = iso();
          push(t, { type: 'succeeded', result });
          t.bus.emit('end');
        },
        (e) => {
          t.status = 'failed';
          t.ended = iso();
          // the error is kept and served: no secret a message quotes (a command, a URL) stays in it
          t.error = isHoardError(e)
            ? { kind: e.kind, message: redact(e.message), hint: e.hint ? redact(e.hint) : null }
            : { kind: 'internal', message: redact((e as Error).message ?? String(e)), hint: null };
          push(t, { type: 'failed', error: t.error });
          t.bus.emit('end');
        },
      );
      running.add(p);
      void p.finally(() => running.delete(p));
      return view(t);
    },
    get(id) {
      const t = tasks.get(id);
      return t && view(t);
    },
    follow(id, on, end) {
      const t = tasks.get(id);
      if (!t) return undefined;
      for (const e of t.events) on(e);
      if (t.status !== 'running') {
        end();
        return () => {};
      }
      t.bus.on('event', on);
      t.bus.once('end', end);
      return () => {
        t.bus.off('event', on);
        t.bus.off('end', end);
      };
    },
    async settled() {
      while (running.size) await Promise.allSettled([...running]);
    },
    abort() {
      stop.abort();
    },
  };
}
