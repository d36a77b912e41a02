/**
 * The daemon process: claims the project (one scheduler per project), opens the run history, runs
 * the scheduler until SIGTERM/SIGINT (the first lets running work finish, the second aborts it),
 * reloads hoard.yaml on SIGHUP or when the file changes (a bad edit is reported and the old
 * configuration kept), and releases the project on exit. Its log lines are redacted.
 */
import { unwatchFile, watchFile } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { redact } from '../core/index.js';
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import { type Task, createScheduler } from './scheduler.js';
import { type NotifyEvent, createNotifier } from '../app/notifier.js';
import type { TaskOutcome } from '../app/run-job.js';
import { claimDaemon, markInterrupted, openState } from './state.js';
import { type TaskDeps, tasksFrom } from './tasks.js';

export interface DaemonOptions extends Omit<TaskDeps, 'env'> {
  env: Env;
  /** Loads the project again (reload). */
  load(): Promise<Project>;
  retryDelaysMs?: number[];
  notifyRetryDelaysMs?: number[];
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
}

const realSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** Runs the daemon for a project until a signal stops it. */
export async function runDaemon(first: Project, o: DaemonOptions): Promise<void> {
  // every line the daemon writes (its own, the scheduler's, the notifier's, the watchers') is redacted
  const log = (line: string) => o.log(redact(line));
  const dir = path.join(first.dir, '.hoard');
  const release = claimDaemon(
    dir,
    { pid: process.pid, host: os.hostname(), started: o.env.clock.now(), config: first.loaded?.file ?? '' },
    o.isProcessAlive,
  );
  markInterrupted(dir);
  const state = openState(dir);
  let project = first;
  let notifier = await createNotifier(first, { log, retryDelaysMs: o.notifyRetryDelaysMs });
  // the archive watches notify changes only: archive.failed when the archive falls behind, archive.succeeded when it caught up
  const watched = new Map<string, string>();
  const changed = (t: Task, status: NotifyEvent['status']) => {
    const was = watched.get(t.name) ?? 'succeeded';
    watched.set(t.name, status);
    return status !== was;
  };
  const send = (t: Task, trigger: string, status: NotifyEvent['status'], outcome?: TaskOutcome, as?: string) => {
    if (t.name.startsWith('archive:') && !as && (status === 'started' || !changed(t, status))) return;
    const kind =
      as ??
      (t.name.startsWith('verify:')
        ? 'verify'
        : t.name === 'cleanup'
          ? 'cleanup'
          : t.name.startsWith('archive:')
            ? 'archive'
            : 'backup');
    const env = project.config.jobs?.[t.name]?.environment ?? project.settings.environment?.value ?? null;
    void notifier.notify({
      event: `${kind}.${status}`,
      task: t.name,
      trigger,
      environment: env,
      status,
      snapshot_ids: outcome?.snapshots ?? [],
      bytes: outcome?.bytes ?? 0,
      error: outcome?.error ?? null,
      hostname: os.hostname(),
      at: new Date(o.env.clock.now()).toISOString(),
      hoard_version: o.info.programVersion,
    });
  };
  const scheduler = createScheduler(tasksFrom(first, { ...o, env: o.env, log }), {
    clock: o.env.clock,
    sleep: o.sleep ?? realSleep,
    state,
    log,
    retryDelaysMs: o.retryDelaysMs,
    onStart: (t, trigger) => send(t, trigger, 'started'),
    onRun: (t, trigger, out) => {
      send(t, trigger, out.result === 'succeeded' ? 'succeeded' : 'failed', out);
      // a failed copy to another destination alerts on its own; the backup's result stands
      for (const c of out.copies ?? [])
        if (!c.ok) send(t, trigger, 'failed', { ...out, error: `copy to ${c.destination}: ${c.error}` }, 'copy');
      // so does a drill that restored, but slower than the recovery time objective
      for (const m of out.objectives_missed ?? []) send(t, trigger, 'failed', { ...out, error: m }, 'rto');
    },
  });
  const reload = async (why: string) => {
    try {
      const p = await o.load();
      const n = await createNotifier(p, { log, retryDelaysMs: o.notifyRetryDelaysMs });
      scheduler.setTasks(tasksFrom(p, { ...o, env: o.env, log }));
      project = p;
      notifier = n;
      log(`reloaded ${p.loaded?.file ?? 'the configuration'} (${why})`);
    } catch (e) {
      log(`the configuration could not be reloaded (${why}); keeping the previous one: ${(e as Error).message}`);
    }
  };
  let terms = 0;
  const onTerm = () => {
    terms++;
    log(terms === 1 ? 'stopping: running work may finish (signal again to abort it)' : 'aborting running work');
    scheduler.stop(terms === 1 ? 'finish' : 'abort');
  };
  const onHup = () => {
    void reload('SIGHUP');
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);
  const cfg = first.loaded?.file;
  if (cfg)
    watchFile(cfg, { interval: 1000 }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs) void reload('the file changed');
    });
  log(
    `scheduler started for ${cfg ?? first.dir} (pid ${process.pid}); tasks: ${
      scheduler
        .status()
        .map((s) => s.task)
        .join(', ') || 'none'
    }`,
  );
  try {
    await scheduler.run();
  } finally {
    if (cfg) unwatchFile(cfg);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
    state.close();
    release();
    log('scheduler stopped');
  }
}
