/**
 * The scheduler's local state: run history (start, end, result, snapshots, bytes, error) in a
 * SQLite database beside the project (.hoard/state.db), and the single-instance pid file
 * (.hoard/scheduler.pid). Local on purpose: history is about this machine's daemon; verification
 * results, which must outlive it, live in the repository.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { HoardError } from '../core/index.js';

/** better-sqlite3, loaded on first use: most commands never open a SQLite file. */
const Database = (...args: ConstructorParameters<typeof BetterSqlite3>) =>
  new (createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3)(...args);

export interface RunRow {
  id: number;
  task: string;
  trigger: string;
  started: number;
  ended: number | null;
  result: 'running' | 'succeeded' | 'failed' | 'interrupted';
  snapshots: string[];
  bytes: number;
  error: string | null;
}

export interface SchedulerState {
  start(task: string, trigger: string, startedMs: number): number;
  finish(
    id: number,
    r: { result: RunRow['result']; endedMs: number; snapshots: string[]; bytes: number; error: string | null },
  ): void;
  /** The newest run of a task (any result). */
  last(task: string): RunRow | undefined;
  recent(limit: number): RunRow[];
  /** Per task and result: how many runs, and when the newest ended. */
  counts(): { task: string; result: RunRow['result']; runs: number; last_ended: number | null }[];
  close(): void;
}

type Raw = Omit<RunRow, 'snapshots'> & { snapshots: string };
const row = (r: Raw): RunRow => ({ ...r, snapshots: r.snapshots ? r.snapshots.split(' ') : [] });

/** Opens (creating) the state database in `dir`. Runs left "running" by a dead daemon become "interrupted". */
export function openState(dir: string): SchedulerState {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = Database(path.join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, task TEXT NOT NULL, trigger TEXT NOT NULL, started INTEGER NOT NULL,
    ended INTEGER, result TEXT NOT NULL, snapshots TEXT NOT NULL DEFAULT '', bytes INTEGER NOT NULL DEFAULT 0, error TEXT);
    CREATE INDEX IF NOT EXISTS runs_task ON runs (task, started);`);
  return {
    start: (task, trigger, started) =>
      Number(
        db
          .prepare("INSERT INTO runs (task, trigger, started, result) VALUES (?, ?, ?, 'running')")
          .run(task, trigger, started).lastInsertRowid,
      ),
    finish: (id, r) => {
      db.prepare('UPDATE runs SET ended = ?, result = ?, snapshots = ?, bytes = ?, error = ? WHERE id = ?').run(
        r.endedMs,
        r.result,
        r.snapshots.join(' '),
        r.bytes,
        r.error,
        id,
      );
    },
    last: (task) => {
      const r = db.prepare('SELECT * FROM runs WHERE task = ? ORDER BY started DESC, id DESC LIMIT 1').get(task) as
        | Raw
        | undefined;
      return r && row(r);
    },
    recent: (limit) =>
      (db.prepare('SELECT * FROM runs ORDER BY started DESC, id DESC LIMIT ?').all(limit) as Raw[]).map(row),
    counts: () =>
      db
        .prepare('SELECT task, result, COUNT(*) AS runs, MAX(ended) AS last_ended FROM runs GROUP BY task, result')
        .all() as ReturnType<SchedulerState['counts']>,
    close: () => db.close(),
  };
}

/** Marks runs of a dead daemon as interrupted (call once, holding the pid file). */
export function markInterrupted(dir: string): void {
  const db = Database(path.join(dir, 'state.db'));
  try {
    db.prepare(
      "UPDATE runs SET result = 'interrupted', error = 'the scheduler stopped during the run' WHERE result = 'running'",
    ).run();
  } catch {
    /* no table yet */
  } finally {
    db.close();
  }
}

export interface DaemonInfo {
  pid: number;
  host: string;
  started: number;
  config: string;
}

/** The pid file of a running scheduler, if any. */
export function readDaemon(dir: string): DaemonInfo | undefined {
  try {
    return parseDaemon(readFileSync(path.join(dir, 'scheduler.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseDaemon(text: string): DaemonInfo | undefined {
  try {
    const j = JSON.parse(text) as DaemonInfo;
    return typeof j?.pid === 'number' ? j : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims the project for this process; kind "locked" naming the other scheduler's pid when one runs
 * (a pid file of a dead process on this host is taken over). Returns the release function.
 * Atomic against a scheduler started at the same moment: the pid file is written complete under a
 * temporary name and linked into place, which fails when the file exists; a stale file is removed
 * only while it still names the dead process.
 */
export function claimDaemon(dir: string, info: DaemonInfo, alive: (pid: number) => boolean): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'scheduler.pid');
  const tmp = `${file}.${info.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw e;
      }
      const seen = readText(file);
      if (seen === undefined) continue; // removed meanwhile: try again
      const other = parseDaemon(seen);
      if (other?.pid === info.pid) {
        writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
        break;
      }
      if (other && (other.host !== os.hostname() || alive(other.pid))) {
        throw new HoardError(
          'locked',
          `a scheduler already runs for this project (pid ${other.pid} on ${other.host}, since ${new Date(other.started).toISOString()})`,
          {
            hint:
              other.host === os.hostname()
                ? `stop it with \`hoard scheduler stop\` (or kill ${other.pid})`
                : 'stop it on that host first',
          },
        );
      }
      // stale (or unreadable): remove it only if nobody replaced it meanwhile, then try again
      if (readText(file) === seen) rmSync(file, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  return () => {
    if (readDaemon(dir)?.pid === info.pid) rmSync(file, { force: true });
  };
}
