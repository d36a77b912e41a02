/**
 * What every database engine offers hoard (one folder per engine implements it; one conformance
 * suite, test/databases/conformance.ts, runs against each). Connections carry their password
 * separately: it reaches tools through the environment or a private file, never argv, and
 * `describe()` output never contains it.
 */
export type Engine = 'postgres' | 'mysql' | 'sqlite';

/** Where a database is. For sqlite only `path` is set. */
export interface Connection {
  engine: Engine;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** sqlite: the database file. */
  path?: string;
  /** URL query parameters (e.g. sslmode, host for a socket folder). */
  options?: Record<string, string>;
}

export type DumpFormat = 'sql' | 'custom' | 'directory' | 'sqlite';

/** One applied migration as the framework's table records it. */
export interface MigrationState {
  framework: string;
  table: string;
  applied: number;
  last: string | null;
  list: string[];
}

/** What a backup records about the database (DESIGN.md §5); never a password. */
export interface DatabaseFacts {
  engine: Engine;
  database: string;
  host?: string;
  server_version: string;
  tool_version: string;
  format: DumpFormat;
  /** How `tables` was counted (see app/database-facts.ts); absent in snapshots before it was recorded. */
  rows_counted?: RowsCounted;
  tables: TableFact[];
  migrations: MigrationState[];
}

/**
 * Where a backup's row counts come from: `snapshot`, the snapshot the dump read (PostgreSQL, exact);
 * `copy`, the stored copy itself (SQLite, exact); `bounds`, the database just before (`rows`) and
 * just after (`rows_after`) the dump (MySQL/MariaDB, which cannot share the dump's snapshot).
 */
export type RowsCounted = 'snapshot' | 'copy' | 'bounds';

/** One table as a backup records it: counts taken from the database, not from the dump. */
export interface TableFact {
  name: string;
  rows: number;
  /** bounds: the count just after the dump. */
  rows_after?: number;
  /** The rows the dump's own text holds (plain SQL dumps), kept to say where a loss happened. */
  dump_rows?: number;
  /** The table's one-column primary key (a serial or time), and its newest value (bounds: also after the dump). */
  key?: string;
  newest?: string | null;
  newest_after?: string | null;
  /** verify.checksums: the rows' checksum (bounds: only when the table did not change during the dump). */
  checksum?: string;
}

/** A table as the catalog names it; `schema` is set for PostgreSQL. */
export interface TableRef {
  schema?: string;
  name: string;
}

/** Read-only SQL on a live database, used for inspection and migration detection. */
export interface SqlAccess {
  /** Tables with exact row counts; with `count: false` the counts are -1 (the dump will supply them). */
  tables(o?: { count?: boolean }): Promise<(TableRef & { rows: number })[]>;
  columns(t: TableRef): Promise<string[]>;
  /** Rows as text (NULL as null). */
  query(sql: string): Promise<(string | null)[][]>;
  /** The table's name as SQL (quoted, schema-qualified where needed). */
  ref(t: TableRef): string;
  /** The primary key's columns as SQL identifiers (quoted), in key order; empty when there is none. */
  primaryKey(t: TableRef): Promise<string[]>;
  /**
   * The newest value (as text) of each table's primary key, for tables whose key is one column of
   * a number or time type (serials, timestamps); others are absent. A few queries for all tables.
   */
  newestKeys(tables: TableRef[]): Promise<Map<string, NewestKey>>;
  /**
   * An order-independent checksum of each table's rows. Engine-specific: compare only with one
   * taken by the same engine and version (a drill on the source's server).
   */
  checksums(tables: TableRef[]): Promise<Map<string, string>>;
}

/** A table's key column and its newest value. */
export interface NewestKey {
  column: string;
  max: string | null;
}

/** A snapshot held open for a dump (see DatabaseEngine.snapshot). */
export interface DumpSnapshot {
  id: string;
  sql: SqlAccess;
  /** Ends the snapshot's transaction (idempotent; never rejects). */
  close(): Promise<void>;
}

/** Throwaway databases on a server, for restore drills. */
export interface ScratchDatabases {
  exists(c: Connection, name: string): Promise<boolean>;
  /** Drops the database (idempotent; other sessions on it are ended first where the server can). */
  drop(c: Connection, name: string): Promise<void>;
  /** Databases whose name starts with `prefix`. */
  list(c: Connection, prefix: string): Promise<string[]>;
}

/** A dump in progress: its bytes, and `done`, which rejects (kind "command-failed") if the dump failed. */
export interface DumpStream {
  /** Stored file name (e.g. "app.sql"); a `directory` dump is stored as a folder of that name. */
  name: string;
  stream?: AsyncIterable<Buffer>;
  /**
   * Row counts the dump supplies, complete once `done` resolves: SQLite's, counted in the stored
   * copy; a plain SQL dump's, counted in its own text (which cannot vouch for itself: a diagnostic).
   */
  rows?: () => Map<string, number>;
  /** SQLite: every table's facts read in the stored copy (counts, newest keys, checksums), once `done` resolves. */
  facts?: () => TableFact[];
  /** directory format: the folder holding the dump (removed by `cleanup`). */
  folder?: string;
  done: Promise<void>;
  cleanup?: () => Promise<void>;
}

export interface DumpOptions {
  format: DumpFormat;
  /** A snapshot held open by `snapshot()` that the dump reads (PostgreSQL's exported snapshot id). */
  snapshot?: string;
  /** SQLite: also checksum every table of the copy (verify.checksums). */
  checksums?: boolean;
  /** Parallel jobs (PostgreSQL directory format). */
  jobs?: number;
  signal?: AbortSignal;
}

export interface RestoreIntoOptions {
  format: DumpFormat;
  /** The target holds data that this restore replaces (its pre-restore snapshot exists). */
  replace?: boolean;
  jobs?: number;
  signal?: AbortSignal;
}

/** What probe() learnt; estimatedBytes sizes the free-space check. */
export interface ProbeResult {
  serverVersion: string;
  toolVersion: string;
  estimatedBytes: number;
}

export interface DatabaseEngine {
  readonly engine: Engine;
  readonly formats: DumpFormat[];
  /** The database's name (SQLite: the file's name). */
  name(c: Connection): string;
  /** The stored file name of a dump: <db>.sql, <db>.dump, <db>.dir (a folder), the SQLite file's name. */
  fileName(c: Connection, format: DumpFormat): string;
  /**
   * Checks the tools and the connection before anything is written: kind "tool" (exit 4) when a
   * tool is missing or too old, "db-connection" (exit 3) when the server refuses, "usage" for a bad path.
   */
  probe(c: Connection): Promise<ProbeResult>;
  /** True when dump() supplies `facts` read by the database in the stored copy itself (SQLite). */
  countsFromDump?(format: DumpFormat): boolean;
  /** Read-only SQL access to the live database (for tables, row counts and migrations). */
  sql(c: Connection): SqlAccess;
  /**
   * Opens a snapshot that a dump can share (PostgreSQL): `sql` reads exactly what a dump given
   * `snapshot: id` reads, until `close()`. Engines that cannot share one leave this out.
   */
  snapshot?(c: Connection, signal?: AbortSignal): Promise<DumpSnapshot>;
  /** Starts a dump. The stream (or folder) is complete only when `done` resolves. */
  dump(c: Connection, o: DumpOptions): Promise<DumpStream>;
  /** True when the target database exists and holds any table (a restore would overwrite it). */
  hasData(c: Connection): Promise<boolean>;
  /**
   * Loads a dump into `c`, creating the database when missing. `input` is the stored file (or, for
   * the directory format, the path of a restored folder). Touches no other database.
   */
  restore(c: Connection, input: AsyncIterable<Buffer> | string, o: RestoreIntoOptions): Promise<void>;
  /** Every database of a server (for --all), without templates and system schemas. */
  listDatabases?(c: Connection): Promise<string[]>;
  /** Server-wide objects (roles, tablespaces) as SQL, for --all. */
  dumpGlobals?(c: Connection, signal?: AbortSignal): Promise<DumpStream>;
  /** Server engines: scratch databases for drills (restore() creates one that is missing). */
  scratch?: ScratchDatabases;
  /**
   * A cheap value that changes when the database's data changes (on-change triggers): PostgreSQL's
   * row counters of the database, MySQL's table update times and row estimates. Reading it writes nothing.
   */
  changeToken?(c: Connection): Promise<string>;
}
