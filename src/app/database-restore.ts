/**
 * The database restore use case: a snapshot's dump back into a database, the same one or another
 * (created when missing). Plan first (dry-run stops there); a target that holds data gets a
 * `pre-restore` snapshot before anything is changed, and protected environments want confirmation.
 * A failure says what state the target is in and how to undo it.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type BackupOptions,
  type Repository,
  type SnapshotEntry,
  type TreeNode,
  HoardError,
  findNode,
  restoreTree,
} from '../core/index.js';
import { type Connection, type DumpFormat, type Engine, describe, engineFor } from '../databases/index.js';
import { backupDatabase, databaseName, fileNameFor } from './database-backup.js';
import { sequentialContent } from './repository-access.js';

/** The database part of a snapshot's hoard metadata. */
export interface DatabaseMeta {
  engine: Engine;
  name: string | null;
  all: boolean;
  url: string;
  format: DumpFormat;
}

export interface DatabaseRestoreRequest {
  snapshot: SnapshotEntry;
  /** Where to restore (never taken from the snapshot: see restore-target.ts). */
  target: Connection;
  /** Restore into this database name instead (created when missing). */
  targetDb?: string;
  /** From a server-wide (--all) snapshot: which database. */
  database?: string;
  dryRun?: boolean;
  /** The user confirmed overwriting (needed when the environment is protected). */
  confirmed?: boolean;
  protectedEnvironment?: string;
  /** Asked when the target holds data in a protected environment and `confirmed` is not set; throws to refuse. */
  confirm?: (plan: RestorePlan) => Promise<void>;
  jobs?: number;
}

export interface RestorePlan {
  snapshot_id: string;
  engine: Engine;
  format: DumpFormat;
  file: string;
  target: string;
  target_exists: boolean;
  pre_restore_snapshot: boolean;
}

export interface DatabaseRestoreResult {
  plan: RestorePlan;
  dry_run: boolean;
  pre_restore_snapshot_id: string | null;
  duration_ms: number;
}

/** The database metadata of a snapshot; kind "usage" when it is not a database backup. */
export function databaseMeta(s: SnapshotEntry): DatabaseMeta {
  const db = (s.snapshot.hoard as { database?: DatabaseMeta } | undefined)?.database;
  if (!db?.engine) {
    throw new HoardError('usage', `snapshot ${s.id.slice(0, 8)} is not a database backup`, {
      hint: 'restore files with `hoard restore ID --target FOLDER`',
    });
  }
  return db;
}

/**
 * A name from snapshot metadata used as a file name: one plain component (not empty, ".", "..",
 * no "/" or NUL, no control characters); kind "corrupt" otherwise, since hoard never writes such a name.
 */
export function safeFileName(name: unknown, s: SnapshotEntry): string {
  if (typeof name === 'string' && name !== '.' && name !== '..' && /^[^/\u0000-\u001f\u007f]{1,255}$/.test(name))
    return name;
  throw new HoardError(
    'corrupt',
    `snapshot ${s.id.slice(0, 8)} names its database ${JSON.stringify(String(name)).slice(0, 80)}, which is not a file name; nothing was restored`,
    { hint: "the snapshot's metadata was not written by hoard; restore the file with --target FILE" },
  );
}

/** Resolves target, file and whether the target holds data: everything a dry run prints. */
export async function planDatabaseRestore(
  repo: Repository,
  req: DatabaseRestoreRequest,
): Promise<{ plan: RestorePlan; target: Connection; node: TreeNode }> {
  const meta = databaseMeta(req.snapshot);
  let target = req.target;
  if (target.engine !== meta.engine) {
    throw new HoardError(
      'usage',
      `snapshot ${req.snapshot.id.slice(0, 8)} is a ${meta.engine} backup; it cannot be restored into ${target.engine}`,
      { hint: `give a ${meta.engine} target` },
    );
  }
  const source = meta.all
    ? pickFromAll(req, meta)
    : fileNameFor({ ...target, database: meta.name ?? undefined, path: meta.name ?? target.path }, meta.format);
  if (meta.all && !req.targetDb) target = { ...target, database: req.database };
  if (
    target.engine === 'sqlite' &&
    target.path &&
    meta.name &&
    (await stat(target.path).then(
      (st) => st.isDirectory(),
      () => false,
    ))
  ) {
    target = { ...target, path: path.join(target.path, safeFileName(meta.name, req.snapshot)) }; // a folder: the file goes inside, under its own name
  }
  if (req.targetDb) {
    if (target.engine === 'sqlite')
      throw new HoardError('usage', '--target-db is for PostgreSQL and MySQL', {
        hint: 'give the SQLite file with --target',
      });
    target = { ...target, database: req.targetDb };
  }
  const node = await findNode(repo, req.snapshot.snapshot.tree, `/${source}`);
  if (!node)
    throw new HoardError('corrupt', `snapshot ${req.snapshot.id.slice(0, 8)} has no /${source}`, {
      hint: 'run `hoard ls ID` to see what it holds',
    });
  const exists = await engineFor(target).hasData(target);
  const plan: RestorePlan = {
    snapshot_id: req.snapshot.id,
    engine: meta.engine,
    format: meta.format,
    file: `/${source}`,
    target: describe(target),
    target_exists: exists,
    pre_restore_snapshot: exists,
  };
  return { plan, target, node };
}

function pickFromAll(req: DatabaseRestoreRequest, meta: DatabaseMeta): string {
  const names = ((req.snapshot.snapshot.hoard as { databases?: { name: string }[] }).databases ?? []).map(
    (d) => d.name,
  );
  if (!req.database || !names.includes(req.database)) {
    throw new HoardError(
      'usage',
      `snapshot ${req.snapshot.id.slice(0, 8)} holds a whole server; say which database to restore`,
      { hint: `add --database NAME (one of: ${names.join(', ')})` },
    );
  }
  return fileNameFor({ engine: meta.engine, database: req.database }, meta.format);
}

/** Plans, then (unless dry-run) snapshots the target if it holds data and restores into it. */
export async function restoreDatabase(
  repo: Repository,
  req: DatabaseRestoreRequest,
  o: BackupOptions,
): Promise<DatabaseRestoreResult> {
  const started = o.clock.now();
  const { plan, target, node } = await planDatabaseRestore(repo, req);
  if (req.dryRun) return { plan, dry_run: true, pre_restore_snapshot_id: null, duration_ms: o.clock.now() - started };
  if (plan.target_exists && req.protectedEnvironment && !req.confirmed) {
    if (req.confirm) await req.confirm(plan);
    else
      throw new HoardError(
        'usage',
        `${plan.target} holds data and the ${req.protectedEnvironment} environment is protected; nothing was changed`,
        { hint: 'check the target, then confirm: --yes (CLI) or confirm: true (library)' },
      );
  }
  let pre: string | null = null;
  if (plan.target_exists) {
    const safety = await backupDatabase(
      repo,
      {
        connection: target,
        format: plan.format === 'directory' ? 'custom' : plan.format,
        kind: 'pre-restore',
        reason: `before restoring snapshot ${req.snapshot.id.slice(0, 8)}`,
        source: databaseName(target),
      },
      { ...o, dryRun: false, finalize: undefined },
    );
    pre = safety.snapshotId ?? null;
  }
  try {
    await load(repo, target, node, plan.format, plan.target_exists, req, o.signal);
  } catch (e) {
    throw failed(e, plan, target, pre);
  }
  return { plan, dry_run: false, pre_restore_snapshot_id: pre, duration_ms: o.clock.now() - started };
}

async function load(
  repo: Repository,
  target: Connection,
  node: TreeNode,
  format: DumpFormat,
  replace: boolean,
  req: DatabaseRestoreRequest,
  signal?: AbortSignal,
): Promise<void> {
  const engine = engineFor(target);
  if (format !== 'directory')
    return engine.restore(target, sequentialContent(repo, node, signal), { format, replace, jobs: req.jobs, signal });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-pgrestore-'));
  try {
    const name = node.name.toString();
    const sum = await restoreTree(repo, req.snapshot.snapshot.tree, { target: dir, include: [`/${name}`], signal });
    if (sum.errors.length)
      throw new HoardError('corrupt', `could not read the dump folder: ${sum.errors[0].message}`, {
        hint: 'run `hoard check --read-data`',
      });
    await engine.restore(target, path.join(dir, name), { format, replace, jobs: req.jobs, signal });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The error of a failed restore, with the target's state and the way back. */
function failed(e: unknown, plan: RestorePlan, target: Connection, pre: string | null): unknown {
  if (!(e instanceof HoardError)) return e;
  // PostgreSQL restores through a staging database (or one transaction); only an in-place directory load marks itself partial
  const atomic = target.engine === 'sqlite' || (target.engine === 'postgres' && !e.context?.partial);
  const state = atomic
    ? `${plan.target} was left as it was (the restore is all or nothing)`
    : `${plan.target} may be partly restored`;
  const back = pre
    ? `undo with: hoard restore ${pre.slice(0, 8)} --target ${plan.target}`
    : atomic
      ? 'fix the cause and run the restore again'
      : 'drop the target database or run the restore again';
  // without a pre-restore snapshot there is nothing to undo: the cause's own hint (a tool to install, a dump to distrust) says more
  return new HoardError(
    e.kind === 'interrupted' ? 'interrupted' : e.kind,
    `restore into ${plan.target} failed: ${e.message}; ${state}`,
    { hint: pre ? back : (e.hint ?? back), context: { ...e.context, pre_restore_snapshot_id: pre } },
  );
}
