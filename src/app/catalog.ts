/**
 * Reading the catalog, written once for every door (`hoard list` and `info`, the library's list and
 * info, GET /backups and /backups/:id): the snapshots and their verification records. A prune
 * holds an exclusive lock for a while, so a read waits for it (up to READ_LOCK_WAIT_MS, or the
 * caller's --retry-lock) instead of failing or reading a repository that is being rewritten. Reads
 * write no lock of their own: a reader (a `read` API token) must not be able to keep prune out.
 * `readStatus` is `hoard status`, the library's status and GET /status: it takes no lock (it only
 * counts and reads; a prune's deletions show as damaged snapshots at worst).
 */
import { type Repository, type SnapshotEntry, filterSnapshots, loadVerifications } from '../core/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { repositoryLocation, withRepository, withSnapshots } from './repository-access.js';
import { type StatusReport, projectStatus } from './status.js';
import { destinationLister } from './copy.js';
import { type BackupQuery, type SnapshotChoice, chooseSnapshot, queryBackups } from './select.js';
import { type BackupRecord, toRecord } from './snapshot-view.js';

/** How long a read waits for another process's exclusive lock (a prune) before failing with kind "locked". */
export const READ_LOCK_WAIT_MS = 120_000;

export interface ReadOptions {
  signal?: AbortSignal;
  /** Told once when the read waits for a lock (the CLI prints it). */
  onWait?: (holder: string) => void;
}

export interface BackupList {
  /** The backups the query matches, oldest first. */
  backups: BackupRecord[];
  /** Snapshots in the repository, matched or not. */
  total: number;
  /** Snapshot files that could not be read. */
  damaged: { id: string; error: string }[];
}

const readLock = (env: Env, o: ReadOptions) => ({
  index: false,
  lockFree: true,
  signal: o.signal,
  lockWaitMs: env.lockWait?.ms ?? READ_LOCK_WAIT_MS,
  onWait: env.lockWait?.onWait ?? o.onWait,
});

async function read<T>(
  env: Env,
  p: Project,
  o: ReadOptions,
  work: (list: SnapshotEntry[], damaged: BackupList['damaged'], records: (e: SnapshotEntry) => BackupRecord) => T,
): Promise<T> {
  return withSnapshots(
    env,
    p,
    false,
    async (repo, list, damaged) => {
      const v = await loadVerifications(repo, o.signal, env.clock.now());
      return work(list, damaged, (e) => toRecord(e, v));
    },
    readLock(env, o),
  );
}

/** restic's `snapshots`: the snapshots of a host, with all these tags, of these paths (each filter optional). */
export function findSnapshots(
  env: Env,
  p: Project,
  filter: { host?: string; tags?: string[]; paths?: string[] },
  o: ReadOptions = {},
): Promise<{ snapshots: SnapshotEntry[]; damaged: BackupList['damaged'] }> {
  return withSnapshots(
    env,
    p,
    false,
    async (_repo, list, damaged) => ({ snapshots: filterSnapshots(list, filter), damaged }),
    readLock(env, o),
  );
}

/** The backups a query matches, with their latest verification. */
export function listBackups(env: Env, p: Project, q: BackupQuery = {}, o: ReadOptions = {}): Promise<BackupList> {
  return read(env, p, o, (list, damaged, record) => ({
    backups: queryBackups(list, q, env.clock.now()).map(record),
    total: list.length,
    damaged,
  }));
}

/** One backup by id, prefix, label or "latest" (of `source`); kind "not-found" / "usage" as chooseSnapshot. */
export function backupInfo(
  env: Env,
  p: Project,
  ref: string,
  o: ReadOptions & { source?: string } = {},
): Promise<{ backup: BackupRecord; entry: SnapshotEntry }> {
  return read(env, p, o, (list, _damaged, record) => {
    const entry = chooseSnapshot(list, { ref, source: o.source }, env.clock.now());
    return { backup: record(entry), entry };
  });
}

/**
 * Opens the repository with its index, takes a shared lock (waiting as --retry-lock says), resolves
 * `choice` and runs `work` with the repository and the snapshot: ls, restore and dump.
 */
export function withChosenSnapshot<T>(
  env: Env,
  p: Project,
  choice: SnapshotChoice,
  work: (repo: Repository, s: SnapshotEntry, list: SnapshotEntry[]) => Promise<T>,
  o: { signal?: AbortSignal } = {},
): Promise<T> {
  return withSnapshots(env, p, false, (repo, list) => work(repo, chooseSnapshot(list, choice, env.clock.now()), list), {
    signal: o.signal,
  });
}

/** The project's status (each source, the repository, copies, warnings), for every door. */
export async function readStatus(env: Env, p: Project, signal?: AbortSignal): Promise<StatusReport> {
  return withRepository(env, { project: p, index: false, signal }, (repo) =>
    projectStatus(p, repo, env, repositoryLocation(p).url, signal, destinationLister(env, p)),
  );
}
