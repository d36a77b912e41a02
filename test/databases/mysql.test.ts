/** MySQL/MariaDB against the real server here: the conformance suite plus client specifics. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MY_URL, dropMy, myDatabase, myExec, mariadb, needMariadb, uniqueName } from '../helpers/databases.js';
import { hoard, needRestic, restic } from '../helpers/services.js';
import { backup, databaseConformance, repo, snapshots } from './conformance.js';

const dbOf = (url: string) => new URL(url).pathname.slice(1);
const urlOf = (db: string) => `${MY_URL}/${db}`;

const SCHEMA = `
CREATE TABLE everything (
  id bigint AUTO_INCREMENT PRIMARY KEY, b blob, vb varbinary(16), j json, ts timestamp(6) NULL, dt datetime(6), d date,
  n decimal(20,6), txt text CHARACTER SET utf8mb4, e enum('sad','ok','happy'), st set('a','b','c'), f double, bits bit(8), u char(36)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO everything (b, vb, j, ts, dt, d, n, txt, e, st, f, bits, u) VALUES
  (0x00FF10, 0x0001, '{"a": [1, 2]}', '2024-03-31 01:30:00.123456', '2024-02-29 23:59:59.999999', '2000-01-01', 12345678901234.123456,
   'Grüße, 東京, emoji 🎉, quote '' and backslash \\\\', 'happy', 'a,c', 1.5e300, b'10100101', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (REPEAT(0xAB, 5000), '', '[]', '1970-01-02 00:00:00', '1000-01-01 00:00:00', '9999-12-31', -0.000001, REPEAT('long ', 2000), 'sad', '', -1e-300, b'0', NULL);
ALTER TABLE everything AUTO_INCREMENT = 777;
CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, what varchar(100) NOT NULL);
CREATE TRIGGER everything_audit AFTER INSERT ON everything FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('insert ', NEW.id));
CREATE VIEW happy_rows AS SELECT id, txt FROM everything WHERE e = 'happy';
CREATE PROCEDURE count_happy(OUT n int) BEGIN SELECT COUNT(*) INTO n FROM everything WHERE e = 'happy'; END;
CREATE FUNCTION double_it(x int) RETURNS int DETERMINISTIC RETURN x * 2;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit;
CREATE SEQUENCE invoice_no START WITH 1000;
SELECT NEXTVAL(invoice_no); SELECT NEXTVAL(invoice_no);
`;

async function fingerprint(url: string): Promise<Record<string, string>> {
  const db = dbOf(url);
  const out: Record<string, string> = {};
  const objects = await myExec(
    db,
    `
    SELECT 'TABLE', table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type IN ('BASE TABLE', 'SEQUENCE')
    UNION ALL SELECT 'VIEW', table_name FROM information_schema.views WHERE table_schema = DATABASE()
    UNION ALL SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = DATABASE()
    UNION ALL SELECT 'TRIGGER', trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()
    UNION ALL SELECT 'EVENT', event_name FROM information_schema.events WHERE event_schema = DATABASE() ORDER BY 1, 2`,
  );
  for (const line of objects.split('\n').filter(Boolean)) {
    const [type, name] = line.split('\t');
    const show = await myExec(db, `SHOW CREATE ${type} \`${name}\``);
    out[`${type} ${name}`] = show.replaceAll(db, 'DB').replace(/\t(utf8\w*|latin1)\t.*$/s, '');
  }
  for (const t of (
    await myExec(
      db,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1`,
    )
  )
    .split('\n')
    .filter(Boolean)) {
    out[`rows ${t}`] = (await myExec(db, `CHECKSUM TABLE \`${t}\``)).split('\t')[1];
  }
  out.sequence = await myExec(db, 'SELECT next_not_cached_value FROM invoice_no').catch(() => 'none');
  return out;
}

databaseConformance({
  engine: 'mysql',
  formats: ['sql'],
  available: needMariadb,
  create: async (t) => urlOf(await myDatabase(t)),
  async fresh(t) {
    const name = uniqueName();
    t.after(() => dropMy(name));
    return urlOf(name);
  },
  populate: async (url) => {
    await myExec(
      dbOf(url),
      `DELIMITER ;;\n${SCHEMA.split(';\n')
        .filter((x) => x.trim())
        .join(';;\n')};;\nDELIMITER ;\n`,
    );
  },
  fingerprint,
  async addMigrations(url) {
    await myExec(
      dbOf(url),
      `
      CREATE TABLE knex_migrations (id int AUTO_INCREMENT PRIMARY KEY, name varchar(255), batch int, migration_time timestamp NULL);
      INSERT INTO knex_migrations (name, batch) VALUES ('20240101_init.js', 1), ('20240202_orders.js', 2);
      CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY);
      INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240315120000');
      CREATE TABLE django_migrations (id int AUTO_INCREMENT PRIMARY KEY, app varchar(255), name varchar(255), applied datetime);
      INSERT INTO django_migrations (app, name) VALUES ('auth', '0001_initial'), ('shop', '0002_orders');
      CREATE TABLE migrations (id int AUTO_INCREMENT PRIMARY KEY, timestamp bigint NOT NULL, name varchar(255) NOT NULL);
      INSERT INTO migrations (timestamp, name) VALUES (1700000000000, 'Init1700000000000'), (1700000000001, 'Users1700000000001');
      CREATE TABLE SequelizeMeta (name varchar(255) PRIMARY KEY);
      INSERT INTO SequelizeMeta VALUES ('20240101-create-user.js');`,
    );
    return {
      knex: '20240202_orders.js',
      rails: '20240315120000',
      django: 'shop.0002_orders',
      typeorm: 'Users1700000000001',
      sequelize: '20240101-create-user.js',
    };
  },
  async breakDump(_t, url) {
    // a view whose table is gone: mariadb-dump stops with an error half-way through the dump
    await myExec(
      dbOf(url),
      'CREATE TABLE victim (x int); CREATE VIEW zz_broken AS SELECT x FROM victim; DROP TABLE victim;',
    );
    return { why: /mariadb-dump (exited|was killed).*(zz_broken|invalid)/ };
  },
  modify: async (url) => {
    await myExec(
      dbOf(url),
      `UPDATE everything SET txt = 'changed' WHERE id = 1; INSERT INTO everything (txt) VALUES ('new row'); DROP VIEW happy_rows; CREATE TABLE extra (x int);`,
    );
  },
});

describe('mysql specifics', () => {
  it('a user with a password: it reaches the tools through the environment and is stored nowhere', async (t) => {
    if (!(await needMariadb(t)) || !(await needRestic(t))) return;
    const { env, password } = await repo(t);
    const db = await myDatabase(t);
    const user = uniqueName('hu').slice(0, 30);
    const secret = `my-s3cret-${process.pid}`;
    await myExec(
      null,
      `CREATE USER '${user}'@'%' IDENTIFIED BY '${secret}'; CREATE USER '${user}'@'localhost' IDENTIFIED BY '${secret}';
      GRANT ALL ON ${db}.* TO '${user}'@'%'; GRANT ALL ON ${db}.* TO '${user}'@'localhost';`,
    );
    t.after(() => mariadb(null, `DROP USER IF EXISTS '${user}'@'%'; DROP USER IF EXISTS '${user}'@'localhost';`));
    await myExec(db, 'CREATE TABLE t (x int); INSERT INTO t VALUES (7);');
    const url = `mysql://${user}:${encodeURIComponent(secret)}@127.0.0.1:3306/${db}`;
    const s = await backup(env, url);
    const raw = await restic(env.HOARD_REPOSITORY!, password, ['cat', 'snapshot', s.id]);
    assert.ok(!raw.stdout.includes(secret));
    const wrong = await hoard(['backup', '--db', url.replace(encodeURIComponent(secret), 'wrong')], { env });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /cannot connect to mysql:\/\/.*Access denied/);
    assert.ok(!wrong.stderr.includes('wrong'), 'not even a wrong password is echoed');
  });

  it('wrong port or database: exit 3 with one line', async (t) => {
    if (!(await needMariadb(t))) return;
    const { env } = await repo(t);
    for (const url of ['mysql://root@127.0.0.1:1/test', `${MY_URL}/no_such_db_${process.pid}`]) {
      const r = await hoard(['backup', '--db', url], { env });
      assert.equal(r.code, 3, `${url}: ${r.stderr}`);
      assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    }
    assert.equal((await snapshots(env)).length, 0);
  });
});
