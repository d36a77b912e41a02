/**
 * The database backup use case: probe (tool, connection, free space) before anything is written,
 * read tables and migrations, stream the dump into the repository, and record what was backed up
 * in the snapshot's hoard metadata (DESIGN.md §5). A failed dump leaves no snapshot.
 */
import { statfs } from 'node:fs/promises';
import {
  type BackupOptions,
  type BackupSummary,
  type LazyStreamInput,
  type Repository,
  type StreamsOutcome,
  HoardError,
  backupFiles,
  backupStreams,
} from '../core/index.js';
import {
  type Connection,
  type DatabaseFacts,
  type DumpFormat,
  type DumpStream,
  type Engine,
  defaultFormat,
  describe,
  engineFor,
} from '../databases/index.js';
import { dumpWithFacts } from './database-facts.js';

/** Why and how a snapshot was taken (shared by every source type). */
export interface SnapshotLabels {
  kind?: string;
  label?: string;
  reason?: string;
  /** The change this backup precedes (a ticket id): it is kept until `hoard confirm` records who verified the change. */
  ticket?: string;
  description?: string;
  environment?: string;
  /** The source's name in hoard.yaml, or the database name. */
  source?: string;
  /** Days the snapshot is kept (null: no expiry) and the resulting time (RFC 3339). */
  retentionDays?: number | null;
  /** The job that made it, and the id of the `hoard backup` run (all sources of one run share it). */
  job?: string;
  run?: string;
  /** Which rule gave the retention (flag, job, kind, environment, none). */
  retentionFrom?: string;
  expiresAt?: string | null;
}

export interface DatabaseBackupRequest extends SnapshotLabels {
  connection: Connection;
  format?: DumpFormat;
  jobs?: number;
  /** Every database of the server (PostgreSQL), one stream each plus the globals. */
  all?: boolean;
  /** Checksum every table too (hoard.yaml's verify.checksums): compared after a drill. */
  checksums?: boolean;
  /** A local repository's folder: checked for free space against the database's size. */
  localRepoPath?: string;
}

export interface DatabaseBackupResult extends BackupSummary {
  facts: DatabaseFacts[];
}

/** Restic tags mirroring the searchable metadata, so `restic snapshots --tag kind:daily` works. */
export function labelTags(l: SnapshotLabels, extra: string[] = []): string[] {
  const tags = [`kind:${l.kind ?? 'manual'}`];
  if (l.environment) tags.push(`env:${l.environment}`);
  if (l.label) tags.push(`label:${l.label}`);
  if (l.source) tags.push(`source:${l.source}`);
  return [...tags, ...extra];
}

/** The common part of hoard metadata. */
export function labelMetadata(l: SnapshotLabels, sourceType: string): Record<string, unknown> {
  return {
    kind: l.kind ?? 'manual',
    label: l.label ?? null,
    reason: l.reason ?? null,
    description: l.description ?? null,
    environment: l.environment ?? null,
    source: { name: l.source ?? null, type: sourceType },
    ...(l.ticket ? { ticket: l.ticket } : {}),
    ...(l.job ? { job: l.job } : {}),
    ...(l.run ? { run: l.run } : {}),
    retention_days: l.retentionDays ?? null,
    retention_from: l.retentionFrom ?? (l.retentionDays ? 'flag' : 'none'),
    expires_at: l.expiresAt ?? null,
  };
}

async function checkFreeSpace(folder: string, needed: number): Promise<void> {
  let free: number;
  try {
    const s = await statfs(folder);
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return;
  } // the repository folder is checked when it is opened
  if (free < needed) {
    throw new HoardError(
      'no-space',
      `the repository's disk has ${mib(free)} free but the database is about ${mib(needed)}`,
      {
        hint: 'free some space (hoard cleanup) or back up to another repository',
        context: { free_bytes: free, needed_bytes: needed },
      },
    );
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Backs up one database (or, with `all`, every database of a PostgreSQL server) into one snapshot. */
export async function backupDatabase(
  repo: Repository,
  req: DatabaseBackupRequest,
  o: BackupOptions,
): Promise<DatabaseBackupResult> {
  const c = req.connection;
  const engine = engineFor(c);
  const format = req.format ?? defaultFormat(c.engine);
  if (!engine.formats.includes(format)) {
    throw new HoardError('usage', `${c.engine} has no dump format ${format}`, {
      hint: `use ${engine.formats.join(', ')}`,
    });
  }
  if (req.all && !engine.listDatabases)
    throw new HoardError('usage', `--all is for PostgreSQL servers, not ${c.engine}`);
  if (req.all && format === 'directory')
    throw new HoardError('usage', '--all takes the sql or custom format', { hint: 'drop --format directory' });
  const probe = await engine.probe(c);
  if (req.localRepoPath && !o.dryRun) await checkFreeSpace(req.localRepoPath, probe.estimatedBytes);
  const targets: Connection[] = req.all
    ? (await engine.listDatabases!(c)).map((database) => ({ ...c, database }))
    : [c];
  // filled by dumpWithFacts as each dump runs: counts from the database, consistent with the dump
  const facts: DatabaseFacts[] = targets.map((t) => ({
    engine: c.engine,
    database: databaseName(t),
    host: t.host,
    server_version: probe.serverVersion,
    tool_version: probe.toolVersion,
    format,
    tables: [],
    migrations: [],
  }));
  const labels: SnapshotLabels = {
    ...req,
    source: req.source ?? (req.all ? `${c.host ?? 'local'}-all` : databaseName(c)),
  };
  const meta = (r: StreamsOutcome): Record<string, unknown> => {
    return {
      ...labelMetadata(labels, c.engine),
      database: {
        engine: c.engine,
        name: req.all ? null : databaseName(c),
        all: req.all === true,
        host: c.host ?? null,
        port: c.port ?? null,
        url: describe(c),
        server_version: probe.serverVersion,
        tool_version: probe.toolVersion,
        format,
      },
      databases: facts.map((f) => ({ name: f.database, tables: f.tables, migrations: f.migrations })),
      tables: req.all ? undefined : facts[0].tables,
      migrations: req.all ? undefined : facts[0].migrations,
      size: {
        dump_bytes: r.files.reduce((s, f) => s + f.size, 0),
        files: r.files,
        estimated_bytes: probe.estimatedBytes,
      },
      rows_counted: facts[0].rows_counted ?? null,
      duration_ms: r.durationMs,
    };
  };
  const info = { ...o.info, tags: [...(o.info.tags ?? []), ...labelTags(labels, [`engine:${c.engine}`])] };
  const opts = { ...o, info };
  if (format === 'directory') return { ...(await backupFolderDump(repo, c, req, opts, meta, facts[0])), facts };
  const inputs: LazyStreamInput[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const lazy = (name: string, start: () => Promise<DumpStream>): LazyStreamInput => ({
    filename: name,
    async open() {
      const d = await start();
      if (d.cleanup) cleanups.push(d.cleanup);
      return { stream: d.stream!, done: d.done };
    },
  });
  const dumpOf = (i: number) => () =>
    dumpWithFacts(targets[i], { format, jobs: req.jobs, signal: o.signal, checksums: req.checksums }, facts[i]);
  if (req.all) inputs.push(lazy('globals.sql', () => engine.dumpGlobals!(c, o.signal)));
  targets.forEach((t, i) => inputs.push(lazy(fileNameFor(t, format), dumpOf(i))));
  try {
    return { ...(await backupStreams(repo, inputs, { ...opts, finalize: meta })), facts };
  } finally {
    for (const f of cleanups) await f().catch(() => {});
  }
}

async function backupFolderDump(
  repo: Repository,
  c: Connection,
  req: DatabaseBackupRequest,
  o: BackupOptions,
  meta: (r: StreamsOutcome) => Record<string, unknown>,
  facts: DatabaseFacts,
): Promise<BackupSummary> {
  const d = await dumpWithFacts(
    c,
    { format: 'directory', jobs: req.jobs, signal: o.signal, checksums: req.checksums },
    facts,
  );
  try {
    await d.done;
    const parent = d.folder!.slice(0, d.folder!.length - d.name.length - 1);
    return await backupFiles(repo, [d.name], { ...o, cwd: parent, recordPaths: [`/${d.name}`], finalize: meta });
  } finally {
    await d.cleanup?.();
  }
}

export function databaseName(c: Connection): string {
  return engineFor(c).name(c);
}

/** The stored file name: <db>.sql, <db>.dump (custom), <db>.dir (directory), the file's own name (SQLite). */
export function fileNameFor(c: Connection, format: DumpFormat): string {
  return engineFor(c).fileName(c, format);
}

export type { Engine };
export { parseDatabaseUrl, inspect, type Connection, type DumpFormat } from '../databases/index.js';
