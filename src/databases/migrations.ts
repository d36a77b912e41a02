/**
 * Migration state: which migration frameworks have left their table in a database, how many
 * migrations each has applied, and the last one. Engine-neutral: it needs only SqlAccess.
 * A framework is recognised by its table name and the columns it must have, so that an
 * application table that happens to be called "migrations" is not mistaken for one.
 */
import type { MigrationState, SqlAccess, TableRef } from './types.js';

interface Framework {
  framework: string;
  table: string;
  /** Columns that must exist (lower case). */
  columns: string[];
  /** Columns to read; the row's name joins them. */
  select: string[];
  where?: string;
  order: string[];
  name(row: (string | null)[]): string;
  /** Only the current version is stored (alembic, golang-migrate): applied is the row count, not history. */
  headsOnly?: boolean;
}

const FRAMEWORKS: Framework[] = [
  {
    framework: 'knex',
    table: 'knex_migrations',
    columns: ['id', 'name', 'batch'],
    select: ['name'],
    order: ['id'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'prisma',
    table: '_prisma_migrations',
    columns: ['migration_name', 'finished_at', 'rolled_back_at'],
    select: ['migration_name'],
    where: 'finished_at IS NOT NULL AND rolled_back_at IS NULL',
    order: ['finished_at', 'migration_name'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'golang-migrate',
    table: 'schema_migrations',
    columns: ['version', 'dirty'],
    select: ['version', 'dirty'],
    order: ['version'],
    headsOnly: true,
    name: (r) => `${r[0]}${isTrue(r[1]) ? ' (dirty)' : ''}`,
  },
  {
    framework: 'rails',
    table: 'schema_migrations',
    columns: ['version'],
    select: ['version'],
    order: ['version'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'django',
    table: 'django_migrations',
    columns: ['id', 'app', 'name'],
    select: ['app', 'name'],
    order: ['id'],
    name: (r) => `${r[0]}.${r[1]}`,
  },
  {
    framework: 'alembic',
    table: 'alembic_version',
    columns: ['version_num'],
    select: ['version_num'],
    order: ['version_num'],
    headsOnly: true,
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'flyway',
    table: 'flyway_schema_history',
    columns: ['installed_rank', 'version', 'description', 'success'],
    select: ['version', 'description'],
    where: 'success',
    order: ['installed_rank'],
    name: (r) => (r[0] ? `${r[0]}__${r[1]}` : `R__${r[1]}`),
  },
  {
    framework: 'sequelize',
    table: 'SequelizeMeta',
    columns: ['name'],
    select: ['name'],
    order: ['name'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'typeorm',
    table: 'migrations',
    columns: ['id', 'timestamp', 'name'],
    select: ['name'],
    order: ['id'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'laravel',
    table: 'migrations',
    columns: ['id', 'migration', 'batch'],
    select: ['migration'],
    order: ['id'],
    name: (r) => r[0] ?? '',
  },
  {
    framework: 'drizzle',
    table: '__drizzle_migrations',
    columns: ['id', 'hash', 'created_at'],
    select: ['hash'],
    order: ['created_at', 'id'],
    name: (r) => r[0] ?? '',
  },
];

function isTrue(v: string | null): boolean {
  return v === 't' || v === 'true' || v === '1';
}

/** How many names the metadata keeps per framework (the newest); `applied` is always the full count. */
export const MIGRATION_LIST_LIMIT = 500;

/** Detects every framework whose table is present and reads its applied migrations. */
export async function detectMigrations(db: SqlAccess, tables: TableRef[]): Promise<MigrationState[]> {
  const out: MigrationState[] = [];
  const claimed = new Set<TableRef>();
  for (const f of FRAMEWORKS) {
    for (const t of tables.filter((x) => x.name === f.table || x.name.toLowerCase() === f.table.toLowerCase())) {
      if (claimed.has(t)) continue;
      const cols = new Set((await db.columns(t)).map((c) => c.toLowerCase()));
      if (!f.columns.every((c) => cols.has(c))) continue;
      claimed.add(t);
      const q = (c: string) => db.ref({ name: c });
      const sql = `SELECT ${f.select.map(q).join(', ')} FROM ${db.ref(t)}${f.where ? ` WHERE ${f.where}` : ''} ORDER BY ${f.order.map(q).join(', ')}`;
      const names = (await db.query(sql)).map(f.name);
      out.push({
        framework: f.framework,
        table: t.schema ? `${t.schema}.${t.name}` : t.name,
        applied: names.length,
        last: names.length ? names[names.length - 1] : null,
        list: names.slice(-MIGRATION_LIST_LIMIT),
      });
    }
  }
  return out;
}
