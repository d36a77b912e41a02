/** The database engines by name, and what every engine's backup records (tables, migrations). */
import { detectMigrations } from './migrations.js';
import { type InspectOptions, tableFacts } from './facts.js';
import { mysql } from './mysql/index.js';
import { postgres } from './postgres/index.js';
import { sqlite } from './sqlite/index.js';
import type { Connection, DatabaseEngine, DatabaseFacts, DumpFormat, Engine, SqlAccess } from './types.js';

export type * from './types.js';
export { parseDatabaseUrl, redactUrl, describe } from './url.js';
export { runTool, captureTool, observed } from './process.js';

export const ENGINES: Record<Engine, DatabaseEngine> = { postgres, mysql, sqlite };

export function engineFor(c: Connection): DatabaseEngine {
  return ENGINES[c.engine];
}

/** The default dump format of an engine. */
export function defaultFormat(engine: Engine): DumpFormat {
  return engine === 'sqlite' ? 'sqlite' : 'sql';
}

export { type InspectOptions, tableFacts } from './facts.js';

/** Tables with exact row counts and the migration state of the live database. */
export async function inspect(
  c: Connection,
  o: InspectOptions = {},
): Promise<Pick<DatabaseFacts, 'tables' | 'migrations'>> {
  return inspectSql(engineFor(c).sql(c), o);
}

/** inspect() over given SQL access (a snapshot session's, so that it reads what the dump reads). */
export async function inspectSql(
  db: SqlAccess,
  o: InspectOptions = {},
): Promise<Pick<DatabaseFacts, 'tables' | 'migrations'>> {
  const tables = await db.tables(o);
  const migrations = await detectMigrations(db, tables);
  return { tables: await tableFacts(db, tables, o), migrations };
}
