import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectSources } from './detect.js';

const SQLITE_HEADER = Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(84)]);

async function project(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-detect-'));
  for (const [f, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), body);
  }
  return dir;
}

describe('detecting databases for init', () => {
  it('finds SQLite files by header (not by name), skipping node_modules and WAL files', async () => {
    const dir = await project({
      'db/app.sqlite3': SQLITE_HEADER,
      'notes.db': 'not a database',
      'data/cache': SQLITE_HEADER,
      'db/app.sqlite3-wal': SQLITE_HEADER,
      'node_modules/x/y.db': SQLITE_HEADER,
    });
    const found = await detectSources(dir, {});
    assert.deepEqual(
      found.map((c) => [c.name, c.type, c.path]),
      [
        ['cache', 'sqlite', 'data/cache'],
        ['app', 'sqlite', 'db/app.sqlite3'],
      ],
    );
  });

  it('finds database URLs in the environment and .env files, referencing the variable, never copying the URL', async () => {
    const dir = await project({
      '.env': 'DATABASE_URL="postgres://app:secret@db:5432/shop"\nREDIS_URL=redis://x\n',
      '.env.local': 'ANALYTICS_DB_URL=mariadb://u:p@h/stats\nDATABASE_URL=postgres://other/ignored\n',
    });
    const found = await detectSources(dir, { ORDERS_URL: 'mysql://root@127.0.0.1/orders', HOME: '/root' });
    assert.deepEqual(
      found.map((c) => [c.name, c.type, c.url, c.found]),
      [
        ['orders', 'mysql', 'env:ORDERS_URL', 'environment: ORDERS_URL'],
        ['shop', 'postgres', 'env:DATABASE_URL', '.env: DATABASE_URL'],
        ['stats', 'mysql', 'env:ANALYTICS_DB_URL', '.env.local: ANALYTICS_DB_URL'],
      ],
    );
    assert.ok(!JSON.stringify(found).includes('secret'));
  });

  it('reads a Prisma datasource (env URL or SQLite file)', async () => {
    const pg = await project({
      'prisma/schema.prisma':
        'generator c { provider = "prisma-client-js" }\ndatasource db {\n  provider = "postgresql"\n  ' +
        'url      = env("PRISMA_DATABASE_URL")\n}\n',
    });
    assert.deepEqual(
      (await detectSources(pg, {})).map((c) => [c.name, c.type, c.url, c.todo]),
      [['prisma-database', 'postgres', 'env:PRISMA_DATABASE_URL', 'set PRISMA_DATABASE_URL (Prisma reads it too)']],
    );
    const lite = await project({
      'prisma/schema.prisma': 'datasource db {\n  provider = "sqlite"\n  url = "file:./dev.db"\n}\n',
      'prisma/dev.db': SQLITE_HEADER,
    });
    assert.deepEqual(
      (await detectSources(lite, {})).map((c) => [c.name, c.type, c.path]),
      [['dev', 'sqlite', 'prisma/dev.db']],
    );
  });

  it('reads postgres, mysql and mariadb services of docker-compose files', async () => {
    const dir = await project({
      'docker-compose.yml': [
        'services:',
        '  web: { image: node:20 }',
        '  db:',
        '    image: postgres:16',
        '    environment:',
        '      POSTGRES_USER: app',
        '      POSTGRES_PASSWORD: pw',
        '      POSTGRES_DB: shop',
        '    ports: ["5433:5432"]',
        '  legacy:',
        '    image: mariadb:11',
        '    environment: [MARIADB_DATABASE=old, MARIADB_USER=u]',
      ].join('\n'),
    });
    const found = await detectSources(dir, {});
    assert.deepEqual(
      found.map((c) => [c.name, c.type, c.url]),
      [
        ['shop', 'postgres', 'env:DB_DATABASE_URL'],
        ['old', 'mysql', 'env:LEGACY_DATABASE_URL'],
      ],
    );
    assert.match(found[0].todo!, /set DB_DATABASE_URL=postgres:\/\/app:PASSWORD@127\.0\.0\.1:5433\/shop in \.env/);
    assert.ok(!JSON.stringify(found).includes('pw'), 'the compose password is not copied');
  });
});
