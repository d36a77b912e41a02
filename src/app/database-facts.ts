/**
 * What a database backup records of each database (tables, row counts, migrations), taken from the
 * database and not from the dump, yet consistent with the dump, so that a drill can tell a dump that
 * left rows out from a good one (a dump checked against itself always passes):
 * - PostgreSQL (`snapshot`): read in the snapshot the dump reads (`pg_dump --snapshot`), while the
 *   dump runs: exact even while the application writes.
 * - SQLite (`copy`): counted in the stored copy's own read transaction (the engine's dump does it).
 * - MySQL/MariaDB (`bounds`): the server cannot share mysqldump's snapshot, so the tables are counted
 *   just before the dump (`rows`) and again just after it (`rows_after`); a drill accepts a count
 *   between the two.
 * Where the dump's text can be counted (plain SQL), its own count is kept as `dump_rows`, to say
 * whether rows were lost in the dump or in the restore. A failure to read the facts fails the dump.
 */
import {
  type Connection,
  type DatabaseFacts,
  type DumpOptions,
  type DumpStream,
  type TableFact,
  engineFor,
  inspect,
  inspectSql,
  observed,
  tableFacts,
} from '../databases/index.js';

type Found = Pick<DatabaseFacts, 'tables' | 'migrations' | 'rows_counted'>;

/**
 * Starts the dump of `t` and fills `into` with its facts; the stream's `done` resolves only when
 * both the dump and the facts are complete (and rejects when either fails).
 */
export async function dumpWithFacts(t: Connection, o: DumpOptions, into: Found): Promise<DumpStream> {
  const engine = engineFor(t);
  if (engine.snapshot) {
    const snap = await engine.snapshot(t, o.signal);
    try {
      const reading = inspectSql(snap.sql, { count: true, keys: true, checksums: o.checksums });
      const d = await engine.dump(t, { ...o, snapshot: snap.id });
      // a failed read ends the session, and with it the snapshot pg_dump would import: its own error says why
      const done = Promise.allSettled([reading, d.done]).then(([seen, dumped]) => {
        if (seen.status === 'rejected') throw seen.reason;
        if (dumped.status === 'rejected') throw dumped.reason;
        Object.assign(into, { ...seen.value, tables: withDumpRows(seen.value.tables, d), rows_counted: 'snapshot' });
      });
      return { ...d, done: observed(done.finally(snap.close)) };
    } catch (e) {
      await snap.close();
      throw e;
    }
  }
  if (engine.countsFromDump?.(o.format)) {
    const seen = await inspect(t, { count: false });
    const d = await engine.dump(t, o);
    const done = d.done.then(() => {
      Object.assign(into, { ...seen, tables: byName(d.facts?.() ?? []), rows_counted: 'copy' });
    });
    return { ...d, done: observed(done) };
  }
  const what = { count: true, keys: true, checksums: o.checksums };
  const before = await inspect(t, what);
  const d = await engine.dump(t, o);
  const done = d.done.then(async () => {
    const db = engine.sql(t);
    const after = new Map((await tableFacts(db, await db.tables(), what)).map((x) => [x.name, x]));
    const tables = before.tables.map((x) => between(x, after.get(x.name)));
    Object.assign(into, { ...before, tables: withDumpRows(tables, d), rows_counted: 'bounds' });
  });
  return { ...d, done: observed(done) };
}

/** A table counted before and after the dump: both counts and newest keys; a checksum only when it did not change. */
function between(before: TableFact, after: TableFact | undefined): TableFact {
  const { checksum, ...rest } = before;
  return {
    ...rest,
    rows_after: after?.rows ?? 0,
    ...(before.key !== undefined ? { newest_after: after?.newest ?? null } : {}),
    ...(checksum !== undefined && checksum === after?.checksum ? { checksum } : {}),
  };
}

/** The dump's own count beside each table's, where the dump counted any. */
function withDumpRows(tables: TableFact[], d: DumpStream): TableFact[] {
  const own = d.rows?.();
  if (!own) return tables;
  return tables.map((x) => ({ ...x, dump_rows: own.get(x.name) ?? 0 }));
}

function byName(tables: TableFact[]): TableFact[] {
  return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
