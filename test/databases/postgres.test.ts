/** PostgreSQL against the real server here: the conformance suite plus what only PostgreSQL has. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PG_URL, dropPg, needPostgres, pgDatabase, pgExec, psql, uniqueName } from '../helpers/databases.js';
import { hoard, tempDir } from '../helpers/services.js';
import { backup, databaseConformance, repo, snapshots } from './conformance.js';

const SECRET = 'pg-s3cret-never-shown';
const dbOf = (url: string) => new URL(url).pathname.slice(1);
const urlOf = (db: string) => `${PG_URL.replace('://', `://root:${SECRET}@`)}/${db}`;

const SCHEMA = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE everything (
  id bigserial PRIMARY KEY, b bytea, j json, jb jsonb, ts timestamptz, t timestamp, d date, n numeric(20,6),
  txt text, arr int[], tags text[], m mood, u uuid, f double precision, ok boolean, iv interval, ip inet
);
INSERT INTO everything (b, j, jb, ts, t, d, n, txt, arr, tags, m, u, f, ok, iv, ip) VALUES
  ('\\x00ff10'::bytea, '{"a": [1, 2]}', '{"k": "v", "n": null}', '2024-03-31 01:30:00+02', '2024-02-29 23:59:59.123456', '2000-01-01', 12345678901234.123456,
   'Grüße, 東京, emoji 🎉, quote '' and backslash \\', '{1,2,3}', '{"a b","c"}', 'happy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5e300, true, '1 day 02:03:04', '10.0.0.1/8'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (decode(repeat('ab', 5000), 'hex'), '[]', '[]', '1970-01-01 00:00:00+00', '1970-01-01', '1970-01-01', -0.000001, repeat('long ', 2000), '{}', '{}', 'sad', NULL, 'NaN', false, '-1 year', '::1');
CREATE TABLE audit (id serial PRIMARY KEY, what text NOT NULL, at timestamptz DEFAULT now());
CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (what) VALUES (TG_OP || ' ' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER everything_audit AFTER INSERT OR UPDATE ON everything FOR EACH ROW EXECUTE FUNCTION log_change();
CREATE VIEW happy_rows AS SELECT id, txt FROM everything WHERE m = 'happy';
CREATE MATERIALIZED VIEW counts AS SELECT m, count(*) AS n FROM everything GROUP BY m;
CREATE SEQUENCE invoice_no START 1000;
SELECT setval('invoice_no', 4242);
CREATE TABLE docs (id int PRIMARY KEY, body oid);
INSERT INTO docs VALUES (1, lo_from_bytea(0, decode('00010203fffe', 'hex')));
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (no int PRIMARY KEY DEFAULT nextval('invoice_no'), total numeric(12,2) CHECK (total >= 0));
INSERT INTO billing.invoices (total) VALUES (10.5), (99.99);
`;

async function fingerprint(url: string): Promise<Record<string, string>> {
  const db = dbOf(url);
  const out: Record<string, string> = {};
  const schema = await (await import('../helpers/services.js')).run('pg_dump', [
    '--schema-only',
    '-h',
    '127.0.0.1',
    db,
  ]);
  assert.equal(schema.code, 0, schema.stderr);
  out.schema = schema.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n');
  const tables = (
    await pgExec(
      db,
      `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1`,
    )
  )
    .split('\n')
    .filter(Boolean);
  for (const t of tables)
    out[`table ${t}`] = await pgExec(
      db,
      `SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM ${t} x`,
    );
  const seqs = (await pgExec(db, `SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1`))
    .split('\n')
    .filter(Boolean);
  for (const s of seqs) out[`sequence ${s}`] = await pgExec(db, `SELECT last_value || ' ' || is_called FROM ${s}`);
  out.large_objects = await pgExec(
    db,
    `SELECT coalesce(string_agg(oid::text || ':' || encode(lo_get(oid), 'hex'), ',' ORDER BY oid), '') FROM pg_largeobject_metadata`,
  );
  out.matview = await pgExec(db, 'SELECT string_agg(m || ' + "'='" + " || n, ',' ORDER BY m) FROM counts");
  return out;
}

databaseConformance({
  engine: 'postgres',
  formats: ['sql', 'custom', 'directory'],
  available: needPostgres,
  secret: SECRET,
  create: async (t) => urlOf(await pgDatabase(t)),
  async fresh(t) {
    const name = uniqueName();
    t.after(() => dropPg(name));
    return urlOf(name);
  },
  populate: async (url) => {
    await pgExec(dbOf(url), SCHEMA);
  },
  fingerprint,
  async addMigrations(url) {
    await pgExec(
      dbOf(url),
      `
      CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch int, migration_time timestamptz);
      INSERT INTO knex_migrations (name, batch) VALUES ('20240101_init.js', 1), ('20240202_orders.js', 2);
      CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64), finished_at timestamptz, migration_name varchar(255), logs text, rolled_back_at timestamptz, started_at timestamptz DEFAULT now(), applied_steps_count int DEFAULT 0);
      INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at) VALUES
        ('a', 'x', '2024-01-01', '20240101000000_init', '2024-01-01'), ('b', 'x', '2024-02-01', '20240201000000_users', '2024-02-01'), ('c', 'x', NULL, '20240301000000_failed', '2024-03-01');
      CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
      INSERT INTO schema_migrations VALUES (7, false);
      CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
      INSERT INTO alembic_version VALUES ('ae1027a6acf');
      CREATE TABLE "SequelizeMeta" (name varchar(255) PRIMARY KEY);
      INSERT INTO "SequelizeMeta" VALUES ('20240101-create-user.js');
      CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200), type varchar(20), script varchar(1000), success boolean NOT NULL);
      INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', true), (2, '2', 'add users', 'SQL', 'V2__add_users.sql', true), (3, '3', 'broken', 'SQL', 'V3__broken.sql', false);
      CREATE SCHEMA drizzle;
      CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
      INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('h1', 1700000000000), ('h2', 1700000000001);`,
    );
    return {
      knex: '20240202_orders.js',
      prisma: '20240201000000_users',
      'golang-migrate': '7',
      alembic: 'ae1027a6acf',
      sequelize: '20240101-create-user.js',
      flyway: '2__add users',
      drizzle: 'h2',
    };
  },
  async breakDump(t, url) {
    // a table the connecting role may not read: the backup must fail before any snapshot
    const db = dbOf(url);
    const role = `${db}_ro`;
    await pgExec(
      db,
      `CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA billing TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA public, billing TO ${role}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};
      CREATE TABLE secrets (x int); INSERT INTO secrets VALUES (1);`,
    );
    t.after(async () => {
      await dropPg(db);
      await psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    });
    return { url: `${PG_URL.replace('://', `://${role}@`)}/${db}`, why: /permission denied for table secrets/ };
  },
  modify: async (url) => {
    await pgExec(
      dbOf(url),
      `UPDATE everything SET txt = 'changed' WHERE id = 1; INSERT INTO everything (txt) VALUES ('new row'); DROP VIEW happy_rows;`,
    );
  },
});

describe('postgres specifics', () => {
  it('a dump whose connection is killed half-way leaves no snapshot and says so', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    await pgExec(
      db,
      `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 8) AS body FROM generate_series(1, 600000) g;`,
    );
    const run = hoard(['backup', '--db', `${PG_URL}/${db}`], { env });
    let killed = 0;
    for (let i = 0; i < 400 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 25));
      killed = Number(
        await pgExec(
          'postgres',
          `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE 'COPY%'`,
        ),
      );
    }
    assert.ok(killed > 0, 'the dump was caught in COPY and killed');
    const r = await run;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pg_dump (exited|was killed)|terminat/i);
    assert.equal((await snapshots(env)).length, 0);
  });

  it('Ctrl-C during a dump: exit 130, no snapshot, no pg_dump left running, no temp folder left', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    await pgExec(
      db,
      `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 8) AS body FROM generate_series(1, 600000) g;`,
    );
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('../helpers/services.js');
    for (const format of ['sql', 'directory']) {
      const child = spawn(process.execPath, [CLI, 'backup', '--db', `${PG_URL}/${db}`, '--format', format], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
      let busy = 0;
      for (let i = 0; i < 400 && !busy; i++) {
        await new Promise((r) => setTimeout(r, 25));
        busy = Number(
          await pgExec(
            'postgres',
            `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE 'COPY%'`,
          ),
        );
      }
      assert.ok(busy > 0, 'caught the dump in COPY');
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await pgExec(
          'postgres',
          `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'pg_dump'`,
        ),
        '0',
        `${format}: no pg_dump session left`,
      );
      const { readdir } = await import('node:fs/promises');
      const os = await import('node:os');
      assert.deepEqual(
        (await readdir(os.tmpdir())).filter((n) => n.startsWith('hoard-pgdump-')),
        [],
        `${format}: no temp folder left`,
      );
    }
    assert.equal((await snapshots(env)).length, 0);
  });

  it('the snapshot session reads multibyte text whole, however psql cuts its output into chunks', async (t) => {
    if (!(await needPostgres(t))) return;
    const db = await pgDatabase(t);
    const { openSnapshot } = await import('../../src/databases/postgres/snapshot.js');
    const { parseDatabaseUrl } = await import('../../src/databases/index.js');
    const psqlBin = (await import('node:child_process'))
      .execFileSync('sh', ['-c', 'command -v psql'])
      .toString()
      .trim();
    const session = await openSnapshot(psqlBin, parseDatabaseUrl(`${PG_URL}/${db}`));
    try {
      // an odd number of bytes first, then two-byte characters: some chunk edge falls inside one
      const [[text]] = await session.query("SELECT 'x' || repeat('ü', 300000)");
      assert.equal(text, `x${'ü'.repeat(300000)}`);
      assert.match(session.id, /^[0-9A-F]+-[0-9A-F]+(-\d+)?$/);
    } finally {
      await session.close();
    }
  });

  it('row counts are read in the snapshot the dump reads (sql and custom), exact while the application inserts', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    await pgExec(
      db,
      `CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
      CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 4) AS body FROM generate_series(1, 300000) g;`,
    );
    const { spawn } = await import('node:child_process');
    const writer = spawn(
      'psql',
      [
        '-X',
        '-q',
        '-h',
        '127.0.0.1',
        '-d',
        db,
        '-c',
        `DO $$ BEGIN FOR i IN 1..100000 LOOP INSERT INTO ticks DEFAULT VALUES; COMMIT; PERFORM pg_sleep(0.001); END LOOP; END $$;`,
      ],
      { stdio: 'ignore' },
    );
    t.after(() => {
      writer.kill();
    });
    while (Number(await pgExec(db, 'SELECT count(*) FROM ticks')) < 50) await new Promise((r) => setTimeout(r, 20));
    type Fact = { name: string; rows: number; dump_rows?: number };
    for (const format of ['sql', 'custom']) {
      const s = await backup(env, `${PG_URL}/${db}`, ['--format', format]);
      const tables = s.hoard!.tables as Fact[];
      const ticks = tables.find((x) => x.name === 'public.ticks')!;
      const target = uniqueName();
      t.after(() => dropPg(target));
      const r = await hoard(['restore', s.id, '--target', `${PG_URL}/${db}`, '--target-db', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Number(await pgExec(target, 'SELECT count(*) FROM ticks')), ticks.rows, format);
      assert.ok(
        ticks.rows < Number(await pgExec(db, 'SELECT count(*) FROM ticks')),
        'the writer went on after the dump',
      );
      assert.equal(tables.find((x) => x.name === 'public.big')!.rows, 300000);
      assert.equal(s.hoard?.rows_counted, 'snapshot');
      // a plain dump's own COPY rows are kept beside the database's count; a custom dump has none
      assert.equal(ticks.dump_rows, format === 'sql' ? ticks.rows : undefined);
    }
    writer.kill();
  });

  it('a pg_dump older than the server is refused with exit 4 and an install hint', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = await pgDatabase(t);
    const bin = path.join(dir, 'oldbin');
    await mkdir(bin);
    for (const tool of ['pg_dump', 'psql']) {
      const real = tool === 'psql' ? '/usr/bin/psql' : '';
      const body =
        tool === 'pg_dump' ? '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n' : `#!/bin/sh\nexec ${real} "$@"\n`;
      await writeFile(path.join(bin, tool), body);
      await chmod(path.join(bin, tool), 0o755);
    }
    const r = await hoard(['backup', '--db', `${PG_URL}/${db}`], { env: { ...env, HOARD_PG_BINDIR: bin } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /runs PostgreSQL \d+ but no pg_dump of version \d+ or newer/);
    assert.match(r.stderr, /install postgresql-client-\d+/);
    assert.equal((await snapshots(env)).length, 0);
  });

  it('wrong host, port, password (for a password role) or database: exit 3, one line, nothing written', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    for (const url of [
      'postgres://127.0.0.1:1/postgres',
      'postgres://nonexistent.invalid/postgres',
      `${PG_URL}/no_such_db_${process.pid}`,
    ]) {
      const r = await hoard(['backup', '--db', url], { env });
      assert.equal(r.code, 3, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /^hoard: cannot connect to postgres:\/\//);
      assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    }
    assert.equal((await snapshots(env)).length, 0);
  });

  it('--all backs up each database of the server as its own file plus the globals, and one restores by --database', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const a = await pgDatabase(t);
    await pgExec(a, 'CREATE TABLE t (x int); INSERT INTO t VALUES (42);');
    const r = await hoard(['backup', '--db', PG_URL, '--all', '--json'], { env });
    if (r.code !== 0 && /does not exist/.test(r.stderr))
      return t.skip('another test dropped a database while --all ran');
    assert.equal(r.code, 0, r.stderr);
    const s = (await snapshots(env))[0];
    assert.ok(s.paths.includes('/globals.sql') && s.paths.includes(`/${a}.sql`), s.paths.join(' '));
    const target = uniqueName();
    t.after(() => dropPg(target));
    const res = await hoard(['restore', s.id, '--target', PG_URL, '--database', a, '--target-db', target], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await pgExec(target, 'SELECT x FROM t'), '42');
    const ask = await hoard(['restore', s.id, '--target', PG_URL, '--target-db', target], { env });
    assert.equal(ask.code, 1);
    assert.match(ask.stderr, /add --database NAME/);
  });

  it('a failed restore is all or nothing: the target keeps its data and the error names the pre-restore snapshot', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    const role = `${db}_owner`;
    t.after(async () => {
      await dropPg(db);
      await psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    });
    await pgExec(
      db,
      `CREATE ROLE ${role}; CREATE TABLE t (x int); INSERT INTO t VALUES (1); CREATE TABLE owned (y int); ALTER TABLE owned OWNER TO ${role};`,
    );
    for (const format of ['sql', 'custom']) {
      const s = await backup(env, `${PG_URL}/${db}`, ['--format', format]);
      // the role the dump names is gone (as on another server): loading the dump must fail
      await pgExec(db, `ALTER TABLE owned OWNER TO root; DROP ROLE ${role}; INSERT INTO t VALUES (2);`);
      const r = await hoard(['restore', s.id, '--target', `${PG_URL}/${db}`], { env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`role "${role}" does not exist`));
      assert.match(r.stderr, /restore into postgres:\/\/.* failed: .*left as it was/);
      assert.match(r.stderr, /undo with: hoard restore [0-9a-f]{8} --target/);
      assert.equal(
        await pgExec(db, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        '1,2',
        `${format}: the target is unchanged`,
      );
      await pgExec(db, `DELETE FROM t WHERE x = 2; CREATE ROLE ${role}; ALTER TABLE owned OWNER TO ${role};`);
    }
    assert.equal((await snapshots(env)).filter((x) => x.hoard?.kind === 'pre-restore').length, 2);
  });

  it('the password reaches pg_dump through the environment, not argv', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = await pgDatabase(t);
    const bin = path.join(dir, 'spybin');
    await mkdir(bin);
    const log = path.join(dir, 'argv.log');
    for (const tool of ['pg_dump', 'psql', 'pg_restore', 'pg_dumpall']) {
      await writeFile(
        path.join(bin, tool),
        `#!/bin/sh\necho "$0 $*" >> ${log}\n[ -n "$PGPASSWORD" ] && echo "env-has-password" >> ${log}\nexec /usr/lib/postgresql/*/bin/${tool} "$@"\n`,
      );
      await chmod(path.join(bin, tool), 0o755);
    }
    const r = await hoard(['backup', '--db', 'env:URL'], {
      env: { ...env, HOARD_PG_BINDIR: bin, URL: `postgres://root:${SECRET}@127.0.0.1:5432/${db}` },
    });
    assert.equal(r.code, 0, r.stderr);
    const text = await (await import('node:fs/promises')).readFile(log, 'utf8');
    assert.match(text, /pg_dump .*--format=plain/);
    assert.match(text, /env-has-password/);
    assert.ok(!text.includes(SECRET), 'no argv holds the password');
  });
});

void psql;
void tempDir;
