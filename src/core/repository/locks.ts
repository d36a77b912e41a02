/**
 * Repository locks compatible with restic (restic-format.md §11): shared for backup/restore,
 * exclusive for prune/forget/key changes; refreshed while held; stale by age or by a dead process
 * on this host.
 */
import { HoardError, isHoardError, throwIfAborted } from '../errors.js';
import type { Clock } from '../clock.js';
import { type LockRecord, decodeLock, encodeLock } from '../format/lock.js';
import { formatGoTime, goTimeFromMs, goTimeToMs, parseGoTime } from '../format/time.js';
import type { Repository } from './repository.js';

/** The process taking a lock, and how to tell whether a process of this host is alive. */
export interface LockOwner {
  hostname: string;
  username: string;
  pid: number;
  uid?: number;
  gid?: number;
  isProcessAlive(pid: number): boolean;
}

export interface LockOptions {
  clock: Clock;
  owner: LockOwner;
  /** Time to wait after writing before re-checking for conflicts (restic: 200 ms). */
  settleMs?: number;
  /** Refresh interval (restic: 5 minutes). */
  refreshMs?: number;
  /** Keep retrying a conflicting lock for this long before failing with kind "locked". */
  retryMs?: number;
  /** Called once, naming the holder, when a conflicting lock makes it wait (only with retryMs). */
  onWait?(holder: string): void;
  /** Stops waiting for a conflicting lock (kind "interrupted"). */
  signal?: AbortSignal;
  sleep?(ms: number): Promise<void>;
}

/** Locks older than this are stale (restic: 30 minutes). */
export const STALE_AFTER_MS = 30 * 60 * 1000;

export interface LockEntry {
  id: string;
  lock: LockRecord;
}

/** A held lock. release() is idempotent. */
export interface HeldLock {
  release(): Promise<void>;
}

/** True when the lock is stale from `owner`'s point of view. */
export function isStale(l: LockRecord, now: number, owner: LockOwner): boolean {
  let t: number;
  try {
    t = goTimeToMs(parseGoTime(l.time));
  } catch {
    return true;
  }
  if (now - t > STALE_AFTER_MS) return true;
  return l.hostname === owner.hostname && !owner.isProcessAlive(l.pid);
}

/** Reads every lock file; unreadable ones are returned with lock undefined. */
export async function listLocks(repo: Repository): Promise<{ id: string; lock?: LockRecord }[]> {
  const out: { id: string; lock?: LockRecord }[] = [];
  for await (const f of repo.backend.list('lock')) {
    try {
      out.push({ id: f.name, lock: decodeLock(await repo.loadUnpacked('lock', f.name)) });
    } catch (e) {
      if (isHoardError(e, 'not-found')) continue; // removed meanwhile
      out.push({ id: f.name });
    }
  }
  return out;
}

function describe(l: LockRecord): string {
  return `${l.exclusive ? 'an exclusive' : 'a'} lock held by PID ${l.pid} on ${l.hostname}${l.username ? ` by ${l.username}` : ''} since ${l.time}`;
}

/** The first lock that conflicts with taking one; stale locks (a dead process on this host, or older than 30 min) never do. */
async function conflict(
  repo: Repository,
  exclusive: boolean,
  o: LockOptions,
  ownId?: string,
): Promise<LockRecord | undefined> {
  for (const { id, lock } of await listLocks(repo)) {
    if (id === ownId || !lock || isStale(lock, o.clock.now(), o.owner)) continue;
    if (exclusive || lock.exclusive) return lock;
  }
  return undefined;
}

/**
 * Takes a lock. Fails with kind "locked" naming the holder when a conflicting lock exists after
 * `retryMs`. The returned lock refreshes itself until released. When `repo.indexUnderLock` is set,
 * the in-memory index is brought up to date with storage while the lock settles.
 */
export async function acquireLock(repo: Repository, exclusive: boolean, o: LockOptions): Promise<HeldLock> {
  const sleep = sleeper(o);
  const deadline = o.clock.now() + (o.retryMs ?? 0);
  let told = false;
  // the last lock seen in the way, to name it even when it is gone by the time this gives up
  let last: LockRecord | undefined;
  for (;;) {
    throwIfAborted(o.signal);
    const c = await conflict(repo, exclusive, o);
    if (c && !told && (o.retryMs ?? 0) > 0) {
      told = true;
      o.onWait?.(describe(c));
    }
    if (!c) {
      const id = await writeLock(repo, exclusive, o);
      // the index is read while the lock settles: from here on, no exclusive holder can change it
      // unless the late check below finds that holder, and then this attempt is discarded
      try {
        await Promise.all([sleep(o.settleMs ?? 200), repo.indexUnderLock ? repo.loadIndex(o.signal) : undefined]);
      } catch (e) {
        await repo.backend.remove({ type: 'lock', name: id }).catch(() => {});
        throw e;
      }
      const late = await conflict(repo, exclusive, o, id);
      if (!late) return holder(repo, id, exclusive, o);
      last = late;
      await repo.backend.remove({ type: 'lock', name: id });
    } else {
      last = c;
    }
    if (o.clock.now() >= deadline) throw lockedError(last);
    await sleep(Math.min(5000, Math.max(100, deadline - o.clock.now())));
  }
}

/**
 * Waits (up to `retryMs`) until no live exclusive lock is held, writing no lock of its own. For
 * reads of snapshots and verification records only, which no exclusive holder rewrites in place (a
 * forget that starts meanwhile shows at worst as a snapshot gone missing): a reader that wrote lock
 * files could keep an exclusive locker out for as long as it kept reading, and needs write access.
 */
export async function waitForExclusive(repo: Repository, o: LockOptions): Promise<void> {
  const sleep = sleeper(o);
  const deadline = o.clock.now() + (o.retryMs ?? 0);
  let told = false;
  for (;;) {
    throwIfAborted(o.signal);
    const c = await conflict(repo, false, o);
    if (!c) return;
    if (!told && (o.retryMs ?? 0) > 0) {
      told = true;
      o.onWait?.(describe(c));
    }
    if (o.clock.now() >= deadline) throw lockedError(c);
    await sleep(Math.min(5000, Math.max(100, deadline - o.clock.now())));
  }
}

/** A sleep that ends early when the signal aborts. */
function sleeper(o: LockOptions): (ms: number) => Promise<void> {
  return (
    o.sleep ??
    ((ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        o.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            r();
          },
          { once: true },
        );
      }))
  );
}

function lockedError(l: LockRecord): HoardError {
  return new HoardError('locked', `repository is locked: ${describe(l)}`, {
    hint: 'wait for it to finish (or pass --retry-lock 5m), or run `hoard unlock` if that process is gone',
  });
}

async function writeLock(repo: Repository, exclusive: boolean, o: LockOptions): Promise<string> {
  const w = o.owner;
  return repo.saveUnpacked(
    'lock',
    encodeLock({
      time: formatGoTime(goTimeFromMs(o.clock.now())),
      exclusive,
      hostname: w.hostname,
      username: w.username,
      pid: w.pid,
      uid: w.uid,
      gid: w.gid,
    }),
  );
}

function holder(repo: Repository, firstId: string, exclusive: boolean, o: LockOptions): HeldLock {
  let id = firstId;
  let released = false;
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      refreshing = (async () => {
        const old = id;
        id = await writeLock(repo, exclusive, o);
        await repo.backend.remove({ type: 'lock', name: old });
      })().catch(() => {
        /* a failed refresh is retried at the next interval */
      });
    },
    o.refreshMs ?? 5 * 60 * 1000,
  );
  timer.unref();
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await refreshing;
      await repo.backend.remove({ type: 'lock', name: id });
    },
  };
}

/** Removes stale locks (or all with removeAll); returns the ids removed. */
export async function removeLocks(
  repo: Repository,
  o: { clock: Clock; owner: LockOwner; removeAll?: boolean },
): Promise<string[]> {
  const removed: string[] = [];
  const now = o.clock.now();
  for (const { id, lock } of await listLocks(repo)) {
    if (o.removeAll || !lock || isStale(lock, now, o.owner)) {
      await repo.backend.remove({ type: 'lock', name: id });
      removed.push(id);
    }
  }
  return removed;
}
