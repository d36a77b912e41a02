/** A table's facts as a backup records them (see TableFact), read through any engine's SqlAccess. */
import type { SqlAccess, TableFact, TableRef } from './types.js';

/** What inspect() reads: row counts (default), the newest key of each table, and checksums. */
export interface InspectOptions {
  count?: boolean;
  keys?: boolean;
  checksums?: boolean;
}

/** Each table's count, and with `keys` / `checksums` its newest key and checksum (see TableFact). */
export async function tableFacts(
  db: SqlAccess,
  tables: (TableRef & { rows: number })[],
  o: InspectOptions = {},
): Promise<TableFact[]> {
  const keys = o.keys ? await db.newestKeys(tables) : undefined;
  const sums = o.checksums ? await db.checksums(tables) : undefined;
  return tables.map((t) => {
    const name = t.schema ? `${t.schema}.${t.name}` : t.name;
    const k = keys?.get(name);
    const sum = sums?.get(name);
    return {
      name,
      rows: t.rows,
      ...(k ? { key: k.column, newest: k.max } : {}),
      ...(sum !== undefined ? { checksum: sum } : {}),
    };
  });
}
