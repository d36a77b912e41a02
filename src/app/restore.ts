/**
 * The restore use case, once for every door (CLI, library, REST API): a chosen snapshot into its
 * destination (restore-target.ts: hoard.yaml's names, or a trusted caller's path or URL; never one
 * taken from the repository). A plan comes first and a dry run stops there. Data in a protected
 * environment (the destination's) is replaced only when confirmed. What a restore would replace is
 * snapshotted first (`pre-restore`): a database that holds data, a folder that holds files. One
 * rule for files everywhere: owners are restored when hoard runs as root; core never writes,
 * chmods or chowns through a symlink and keeps setuid/setgid bits only with the snapshot's owner.
 * The caller holds the repository's lock.
 */
import { lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import {
  type BackupOptions,
  type Repository,
  type RestoreSummary,
  type SnapshotEntry,
  HoardError,
  backupFiles,
  findNode,
  listSnapshots,
  restoreFailureKind,
  restoreTree,
  walkTree,
} from '../core/index.js';
import { type DatabaseRestoreResult, restoreDatabase } from './database-restore.js';
import { labelMetadata, labelTags } from './database-backup.js';
import type { Project } from './project.js';
import { restoreWorkers } from './repository-access.js';
import {
  type Destination,
  type TargetChoice,
  describeDestination,
  destinationEnvironments,
  protectedDestination,
  resolveDestination,
} from './restore-target.js';
import { backupSource, planBackups } from './source-backup.js';

export interface RestoreOptions extends TargetChoice {
  /** Files: only these snapshot paths and what is below them. */
  include?: string[];
  /** From a server-wide (--all) snapshot: which database. */
  database?: string;
  dryRun?: boolean;
  /** Replacing data in a protected environment was confirmed. */
  confirmed?: boolean;
  /** Asked when data in a protected environment would be replaced and `confirmed` is not set (the CLI's prompt); throws to refuse. */
  confirm?: (what: string, environment: string) => Promise<void>;
  /** Parallel jobs of a PostgreSQL directory restore. */
  jobs?: number;
  /**
   * Keep setuid/setgid bits (where the restored owner is the snapshot's). Default: only for an
   * in-place restore of a files source; elsewhere a hostile snapshot's setuid-root file would be a
   * way in for whoever can reach the target.
   */
  keepSetId?: boolean;
}

export interface FilesRestoreResult extends RestoreSummary {
  /** The destination held files before (they were snapshotted first). */
  target_exists: boolean;
}

export interface RestoreResult {
  snapshot_id: string;
  /** Where the restore writes: a folder, a SQLite file or a database (without its password). */
  target: string;
  /** The hoard.yaml name the target was chosen by (a restore target or a source), or null. */
  target_name: string | null;
  kind: 'files' | 'database';
  dry_run: boolean;
  /** The protected environment whose data the restore replaces, or null. */
  protected_environment: string | null;
  pre_restore_snapshot_id: string | null;
  /** Files: what was (dry run: would be) restored. */
  files?: FilesRestoreResult;
  database?: DatabaseRestoreResult;
}

/** Restores `s` as `r` says. Files restores that hit errors return them (see restoreError); anything that stops the restore throws. */
export async function restoreSnapshot(
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  r: RestoreOptions,
  o: BackupOptions,
): Promise<RestoreResult> {
  const d = await resolveDestination(p, s, r);
  if (d.kind === 'folder') {
    await checkOwnFolder(d);
    return restoreFiles(p, repo, s, d, protectedDestination(p, await destinationEnvironments(p, d)) ?? null, r, o);
  }
  // a server-wide snapshot's database lands in a database of that name unless target_db says otherwise
  const all = (s.snapshot.hoard as { database?: { all?: unknown } } | undefined)?.database?.all === true;
  const final =
    all && r.targetDb === undefined && r.database !== undefined
      ? { ...d.connection, database: r.database }
      : d.connection;
  if (d.fixedDatabase && final.database !== d.connection.database)
    throw new HoardError(
      'not-allowed',
      `${describeDestination(d)} names its database; ${final.database} may not be restored there; nothing was restored`,
      { hint: 'add --target-db with that database, or restore into a restore target that names only a server' },
    );
  const prot = protectedDestination(p, await destinationEnvironments(p, { ...d, connection: final })) ?? null;
  if (d.intoFolder && !r.dryRun) await mkdir(d.connection.path!, { recursive: true, mode: 0o700 });
  const db = await restoreDatabase(
    repo,
    {
      snapshot: s,
      target: d.connection,
      targetDb: r.targetDb,
      database: r.database,
      dryRun: r.dryRun,
      confirmed: r.confirmed === true,
      protectedEnvironment: prot ?? undefined,
      jobs: r.jobs,
      confirm:
        r.confirm &&
        ((plan) => r.confirm!(`restore snapshot ${s.id.slice(0, 8)} over the data in ${plan.target}`, prot!)),
    },
    { ...o, dryRun: false },
  );
  return {
    snapshot_id: s.id,
    target: db.plan.target,
    target_name: d.name,
    kind: 'database',
    dry_run: db.dry_run,
    protected_environment: prot,
    pre_restore_snapshot_id: db.pre_restore_snapshot_id,
    database: db,
  };
}

/**
 * A folder named in hoard.yaml (a restore target, a source's folders) must be the user's own or
 * root's, and not a symlink someone else planted: a local user who made `/var/tmp/restores` first
 * would otherwise receive the restored data. Folders given as paths by a trusted caller are theirs.
 */
async function checkOwnFolder(d: Folder): Promise<void> {
  if (!d.name) return;
  const me = process.geteuid?.() ?? 0;
  for (const place of d.parts ? d.parts.map((x) => path.dirname(x.disk)) : [d.folder]) {
    const st = await lstat(place).catch(() => undefined);
    if (st && st.uid !== me && st.uid !== 0) {
      throw new HoardError(
        'not-allowed',
        `${place} (of ${d.name}) belongs to uid ${st.uid}${st.isSymbolicLink() ? ' and is a symlink' : ''}; hoard restores only into folders of its own user or root; nothing was restored`,
        { hint: `remove it, or give it to this user (chown ${me} ${place})` },
      );
    }
  }
}

/** The HoardError for a files restore that could not restore everything, or undefined. */
export function restoreError(r: RestoreResult): HoardError | undefined {
  const errors = r.files?.errors ?? [];
  if (!errors.length) return undefined;
  const kind = restoreFailureKind(errors);
  return new HoardError(
    kind,
    kind === 'no-space'
      ? `no space left on the device while restoring to ${r.target}`
      : `${errors.length} item(s) could not be restored: ${errors[0].path}: ${errors[0].message}`,
    {
      hint:
        kind === 'no-space'
          ? 'free some space there (or restore elsewhere) and run the restore again; the files it did ' +
            'restore are complete'
          : kind === 'corrupt'
            ? 'run `hoard check --read-data` to see what is damaged'
            : 'see the warnings above',
      context: { errors: errors.length },
    },
  );
}

type Folder = Extract<Destination, { kind: 'folder' }>;

const matches = (p: string, include?: string[]) =>
  !include?.length ||
  include.some((i) => {
    const x = i.replace(/\/+$/, '') || '/';
    return p === x || p.startsWith(x === '/' ? '/' : `${x}/`);
  });

interface Run {
  tree: string;
  folder: string;
  include?: string[];
  disk: string[];
}

/**
 * The restores a files destination takes: one of the snapshot's tree into the folder (with the
 * caller's include), or for an in-place restore one per configured path: its parent folder's tree,
 * restored into that folder's real location (the folders above it, symlinks included, are the
 * operator's and are never touched), limited to the path (and to the caller's include, which must
 * stay within it).
 */
async function runsFor(repo: Repository, s: SnapshotEntry, d: Folder, asked?: string[]): Promise<Run[]> {
  if (!d.parts)
    return [{ tree: s.snapshot.tree, folder: d.folder, include: asked?.length ? asked : undefined, disk: [d.folder] }];
  const bad = asked?.find((x) => !d.parts!.some((part) => matches(x.replace(/\/+$/, ''), [part.tree])));
  if (bad)
    throw new HoardError(
      'not-allowed',
      `${bad} is outside the folders of ${describeDestination(d)}; nothing was restored`,
      { hint: "include paths below the source's folders only" },
    );
  const runs: Run[] = [];
  for (const part of d.parts) {
    const inside = asked?.length ? asked.filter((x) => matches(x, [part.tree])) : [part.tree];
    if (!inside.length) continue;
    const above = path.posix.dirname(part.tree);
    const parent = await findNode(repo, s.snapshot.tree, above);
    if (!parent?.subtree)
      throw new HoardError('not-found', `snapshot ${s.id.slice(0, 8)} has no ${part.tree}`, {
        hint: 'see `hoard ls ID`',
      });
    await mkdir(path.dirname(part.disk), { recursive: true });
    const folder = await realpath(path.dirname(part.disk));
    runs.push({
      tree: parent.subtree,
      folder,
      include: inside.map((x) => (above === '/' ? x : x.slice(above.length))),
      disk: [part.disk],
    });
  }
  return runs;
}

async function holdsFiles(p: string): Promise<boolean> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return false;
  return st.isDirectory() ? (await readdir(p)).length > 0 : true;
}

async function restoreFiles(
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  d: Folder,
  prot: string | null,
  r: RestoreOptions,
  o: BackupOptions,
): Promise<RestoreResult> {
  const runs = await runsFor(repo, s, d, r.include);
  const places = runs.flatMap((x) => x.disk);
  const exists = (await Promise.all(places.map(holdsFiles))).some(Boolean);
  const base = {
    snapshot_id: s.id,
    target: d.label,
    target_name: d.name,
    kind: 'files' as const,
    protected_environment: prot,
  };
  if (r.dryRun) {
    const plan: FilesRestoreResult = { files: 0, dirs: 0, bytes: 0, errors: [], target_exists: exists };
    const include = d.parts ? (r.include?.length ? r.include : d.parts.map((x) => x.tree)) : r.include;
    for await (const { path: at, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), o.signal)) {
      if (!matches(at.toString(), include)) continue;
      if (node.type === 'file') {
        plan.files++;
        plan.bytes += node.size ?? 0;
      } else if (node.type === 'dir') plan.dirs++;
    }
    if (plan.files === 0 && plan.dirs === 0 && r.include?.length)
      throw new HoardError('not-found', `nothing in snapshot ${s.id.slice(0, 8)} matches ${r.include.join(', ')}`, {
        hint: 'see `hoard ls ID`',
      });
    return { ...base, dry_run: true, pre_restore_snapshot_id: null, files: plan };
  }
  if (exists && prot && !r.confirmed) {
    if (!r.confirm)
      throw new HoardError(
        'usage',
        `${describeDestination(d)} holds files and the ${prot} environment is protected; nothing was changed`,
        {
          hint: 'check the target, then confirm: --yes (CLI) or confirm: true (library, API)',
          context: { confirmation_required: prot },
        },
      );
    await r.confirm(`restore snapshot ${s.id.slice(0, 8)} into ${describeDestination(d)}, which holds files,`, prot);
  }
  const pre = exists ? await safetySnapshot(p, repo, s, d, places, o) : null;
  const sum: RestoreSummary = { files: 0, dirs: 0, bytes: 0, errors: [] };
  for (const run of runs) {
    const one = await restoreTree(repo, run.tree, {
      target: run.folder,
      include: run.include,
      signal: o.signal,
      report: o.report,
      restoreOwner: process.geteuid?.() === 0,
      keepSetId: r.keepSetId ?? !!d.parts,
      workers: restoreWorkers(),
    });
    sum.files += one.files;
    sum.dirs += one.dirs;
    sum.bytes += one.bytes;
    sum.errors.push(...one.errors);
  }
  return { ...base, dry_run: false, pre_restore_snapshot_id: pre, files: { ...sum, target_exists: exists } };
}

/** A `pre-restore` snapshot of what a files restore may replace: the source itself for an in-place restore, else the folder. */
async function safetySnapshot(
  p: Project,
  repo: Repository,
  s: SnapshotEntry,
  d: Folder,
  places: string[],
  o: BackupOptions,
): Promise<string | null> {
  const reason = `before restoring snapshot ${s.id.slice(0, 8)} into ${describeDestination(d)}`;
  if (d.source) {
    const [t] = planBackups(p, { names: [d.source], kind: 'pre-restore' });
    return (
      (
        await backupSource(
          p,
          repo,
          { ...t, retentionDays: null, retentionFrom: 'none' },
          { reason },
          { ...o, dryRun: false },
        )
      ).snapshotId ?? null
    );
  }
  const labels = { kind: 'pre-restore', reason, environment: d.environment };
  const history = (await listSnapshots(repo, o.signal)).snapshots;
  const info = {
    ...o.info,
    tags: [...(o.info.tags ?? []), ...labelTags(labels)],
    hoard: labelMetadata(labels, 'files'),
  };
  const r = await backupFiles(repo, places, { ...o, dryRun: false, info, history, cwd: path.resolve('.') });
  return r.snapshotId ?? null;
}
