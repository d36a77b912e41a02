/**
 * MySQL and MariaDB: mariadb-dump/mysqldump with --single-transaction --routines --triggers
 * --events --hex-blob streamed into the repository; restores through the client, which stops at
 * the first error and runs only SQL (sandbox.ts). The dump names no database, so it can be
 * restored under another name.
 */
import { HoardError } from '../../core/index.js';
import { captureTool, drainTool, observed, runTool, toolEnv } from '../process.js';
import { LineNotes } from '../line-notes.js';
import type {
  Connection,
  DatabaseEngine,
  DumpOptions,
  DumpStream,
  NewestKey,
  ProbeResult,
  RestoreIntoOptions,
  ScratchDatabases,
  SqlAccess,
} from '../types.js';
import { InsertRowCounter, countingInserts } from './insert-rows.js';
import { chunks } from '../batch.js';
import {
  client,
  dumper,
  myArgs,
  myConnectionError,
  myEnv,
  myIdent,
  myLiteral,
  myQuery,
  myRef,
  myRestoreError,
} from './connection.js';
import { notingCommands, refusalError, restoreGuard } from './sandbox.js';

function database(c: Connection): string {
  if (!c.database)
    throw new HoardError('usage', `the MySQL URL names no database`, {
      hint: 'add it to the URL: mysql://user@host:3306/dbname',
    });
  return c.database;
}

/** Tables whose primary key is one column of a number or time type. */
const KEYS_SQL = `SELECT k.table_name, MIN(k.column_name) FROM information_schema.key_column_usage k
JOIN information_schema.columns c ON c.table_schema = k.table_schema AND c.table_name = k.table_name AND c.column_name = k.column_name
WHERE k.table_schema = DATABASE() AND k.constraint_name = 'PRIMARY'
GROUP BY k.table_name
HAVING COUNT(*) = 1 AND MIN(c.data_type) IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal', 'date', 'datetime', 'timestamp')`;

function sql(c: Connection): SqlAccess {
  const q = (text: string) => myQuery(c, text, database(c));
  return {
    async tables(o) {
      const names = (
        await q(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name`,
        )
      ).map((r) => r[0]!);
      if (o?.count === false) return names.map((name) => ({ name, rows: -1 }));
      if (!names.length) return [];
      const counts = await q(
        names.map((n) => `SELECT ${myLiteral(n)}, COUNT(*) FROM ${myIdent(n)}`).join(' UNION ALL '),
      );
      const by = new Map(counts.map((r) => [r[0]!, Number(r[1])]));
      return names.map((name) => ({ name, rows: by.get(name) ?? 0 }));
    },
    async columns(t) {
      return (
        await q(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ${myLiteral(t.name)}`,
        )
      ).map((r) => r[0]!);
    },
    query: q,
    ref: myRef,
    async newestKeys(tables) {
      const wanted = new Set(tables.map((t) => t.name));
      const keys = (await q(KEYS_SQL)).filter((r) => wanted.has(r[0]!));
      const out = new Map<string, NewestKey>();
      for (const part of chunks(keys, 100)) {
        const sql = part.map(
          (r) => `SELECT ${myLiteral(r[0]!)}, CAST(MAX(${myIdent(r[1]!)}) AS CHAR) FROM ${myIdent(r[0]!)}`,
        );
        const byName = new Map(part.map((r) => [r[0]!, r[1]!]));
        for (const [name, max] of await q(sql.join(' UNION ALL '))) out.set(name!, { column: byName.get(name!)!, max });
      }
      return out;
    },
    async checksums(tables) {
      const out = new Map<string, string>();
      for (const part of chunks(tables, 100)) {
        // CHECKSUM TABLE names tables as db.table
        for (const [name, sum] of await q(`CHECKSUM TABLE ${part.map((t) => myIdent(t.name)).join(', ')}`))
          out.set(name!.slice(name!.indexOf('.') + 1), sum ?? '0');
      }
      return out;
    },
    async primaryKey(t) {
      return (
        await q(`SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = ${myLiteral(t.name)}
        AND constraint_name = 'PRIMARY' ORDER BY ordinal_position`)
      ).map((r) => myIdent(r[0]!));
    },
  };
}

async function toolVersion(): Promise<string> {
  return (await captureTool([dumper(), '--no-defaults', '--version'], { env: toolEnv() })).trim();
}

async function probe(c: Connection): Promise<ProbeResult> {
  const db = database(c);
  const toolV = await toolVersion();
  const rows = await myQuery(
    c,
    `SELECT VERSION(), (SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE())`,
    db,
  );
  return { serverVersion: rows[0]?.[0] ?? '', toolVersion: toolV, estimatedBytes: Number(rows[0]?.[1] ?? 0) };
}

async function dump(c: Connection, o: DumpOptions): Promise<DumpStream> {
  if (o.format !== 'sql')
    throw new HoardError('usage', `MySQL dumps are SQL only, not ${o.format}`, {
      hint: 'drop --format or use --format sql',
    });
  const db = database(c);
  // the dump tools take the database only as an argument: after "--", a name like "--help" is no option
  const argv = [
    dumper(),
    ...myArgs(c),
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--skip-dump-date',
    '--',
    db,
  ];
  const run = runTool(argv, { env: myEnv(c), signal: o.signal });
  const counter = new InsertRowCounter();
  return {
    name: `${db}.sql`,
    stream: countingInserts(run.stdout as AsyncIterable<Buffer>, counter),
    rows: () => counter.rows,
    done: observed(
      run.done.catch((e) => {
        throw myConnectionError(e, c);
      }),
    ),
  };
}

async function exists(c: Connection, db: string): Promise<boolean> {
  return (
    (await myQuery(c, `SELECT 1 FROM information_schema.schemata WHERE schema_name = ${myLiteral(db)}`, null)).length >
    0
  );
}

async function hasData(c: Connection): Promise<boolean> {
  const db = database(c);
  const rows = await myQuery(
    c,
    `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ${myLiteral(db)}`,
    null,
  );
  return Number(rows[0]?.[0] ?? 0) > 0;
}

/** Loads a SQL dump with client commands refused (kind "tool" before anything changes when the client cannot refuse them). */
async function restore(c: Connection, input: AsyncIterable<Buffer> | string, o: RestoreIntoOptions): Promise<void> {
  if (o.format !== 'sql' || typeof input === 'string')
    throw new HoardError('usage', `MySQL restores SQL dumps only, not ${o.format}`);
  const db = database(c);
  const cmd = client();
  const guard = await restoreGuard(cmd);
  if (o.replace) {
    // the previous contents are in the pre-restore snapshot: start from an empty database with the same defaults
    const [cs] = await myQuery(
      c,
      `SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name = ${myLiteral(db)}`,
      null,
    );
    await myQuery(
      c,
      `DROP DATABASE ${myIdent(db)}; CREATE DATABASE ${myIdent(db)} CHARACTER SET ${cs?.[0] ?? 'utf8mb4'} COLLATE ${cs?.[1] ?? 'utf8mb4_general_ci'}`,
      null,
    );
  } else if (!(await exists(c, db))) {
    await myQuery(c, `CREATE DATABASE ${myIdent(db)} CHARACTER SET utf8mb4`, null);
  }
  const notes = new LineNotes();
  await drainTool([cmd, ...myArgs(c), ...guard, '--batch', `--database=${db}`], {
    env: myEnv(c),
    stdin: notingCommands(input, notes),
    signal: o.signal,
  }).catch((e) => {
    throw myRestoreError(refusalError(e, notes), c);
  });
}

const scratch: ScratchDatabases = {
  exists,
  async drop(c, name) {
    await myQuery(c, `DROP DATABASE IF EXISTS ${myIdent(name)}`, null);
  },
  async list(c, prefix) {
    const like = prefix.replace(/[\\%_]/g, (x) => `\\${x}`);
    return (
      await myQuery(
        c,
        `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ${myLiteral(`${like}%`)} ORDER BY 1`,
        null,
      )
    ).map((r) => r[0]!);
  },
};

export const mysql: DatabaseEngine = {
  engine: 'mysql',
  formats: ['sql'],
  name: (c) => c.database ?? '',
  fileName: (c) => `${c.database ?? ''}.sql`,
  probe,
  sql,
  dump,
  hasData,
  restore,
  scratch,
  async changeToken(c) {
    const [r] = await myQuery(
      c,
      'SELECT MAX(UPDATE_TIME), SUM(TABLE_ROWS), COUNT(*) FROM information_schema.tables WHERE table_schema ' +
        '= DATABASE()',
    );
    return (r ?? []).join(':');
  },
};
