/**
 * Tampered dumps against the real servers and tools. A restore runs only SQL: the real pg_dump or
 * mariadb-dump output of a small database, edited to carry client commands (`\!`, `\o`, `\copy`,
 * `system`, `tee`, `LOAD DATA LOCAL INFILE` …), fails with kind "corrupt" naming the line, and
 * nothing is run, read or written on this host; a PostgreSQL target keeps what it held. The same
 * holds through the CLI (restore and drill) for a snapshot whose stored dump is tampered, a psql too
 * old for restricted mode is refused (exit 4), and SQLite files are opened as untrusted.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import { HoardError } from '../../src/core/index.js';
import { ENGINES, parseDatabaseUrl } from '../../src/databases/index.js';
import {
  MY_URL,
  PG_URL,
  myDatabase,
  myExec,
  needMariadb,
  needPostgres,
  pgDatabase,
  pgExec,
} from '../helpers/databases.js';
import { hoard, run, tempDir } from '../helpers/services.js';
import { repo } from './conformance.js';

const PG_BIN = `/usr/lib/postgresql/${
  readdirSync('/usr/lib/postgresql')
    .map(Number)
    .sort((a, b) => b - a)[0]
}/bin`;

async function* bytes(text: string | Buffer): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

/** `dump` with `lines` inserted after the first line matching `after`; returns the text and the line number of the first inserted line. */
function inject(dump: string, after: RegExp, lines: string[]): { text: string; line: number } {
  const all = dump.split('\n');
  const at = all.findIndex((l) => after.test(l)) + 1;
  assert.ok(at > 0, `no line matches ${after}`);
  all.splice(at, 0, ...lines);
  return { text: all.join('\n'), line: at + 1 };
}

/** `p` rejects with a HoardError of `kind` whose message matches `message` (a string: starts with it). */
async function rejects(p: Promise<unknown>, kind: string, message: RegExp | string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HoardError, String(e));
    assert.equal(e.kind, kind, e.message);
    if (typeof message === 'string')
      assert.ok(e.message.startsWith(message), `${e.message}\nshould start with\n${message}`);
    else assert.match(e.message, message);
    return true;
  });
}

/** A small application database: a table with data (and, in COPY, rows that look like restrict lines). */
async function pgApp(t: TestContext): Promise<string> {
  const db = await pgDatabase(t);
  await pgExec(
    db,
    `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one'), (2, E'\\restrict x'), (3, E'\\r'), (4, E'\\\\.');
    COMMENT ON TABLE t IS '${'P'.repeat(200)}';`,
  );
  return db;
}

const pgState = (db: string) => pgExec(db, "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t");

/** The plain dump hoard takes (pg_dump --format=plain --clean --if-exists). */
async function pgPlain(db: string): Promise<string> {
  const r = await run(path.join(PG_BIN, 'pg_dump'), [
    '-h',
    '127.0.0.1',
    '--format=plain',
    '--clean',
    '--if-exists',
    db,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\\restrict \w+$/m, "this pg_dump writes its own \\restrict lines: the filter's case");
  return r.stdout;
}

/** The dump with its own \\restrict and \\unrestrict lines emptied (line numbers kept), as a tamperer would leave it. */
const withoutOwnRestrict = (dump: string) => dump.replace(/^\\(un)?restrict \w+$/gm, '');

/** A folder for HOARD_PG_BINDIR whose pg_dump prints `file` (a stored dump made to order); the other tools are the real ones. */
async function fakePgDump(dir: string, file: string): Promise<string> {
  const bin = path.join(dir, 'fake-pg');
  await mkdir(bin);
  await writeFile(
    path.join(bin, 'pg_dump'),
    `#!/bin/sh\n[ "$1" = --version ] && exec ${PG_BIN}/pg_dump --version\ncat ${file}\n`,
  );
  await chmod(path.join(bin, 'pg_dump'), 0o755);
  for (const tool of ['psql', 'pg_restore', 'pg_dumpall']) await symlink(path.join(PG_BIN, tool), path.join(bin, tool));
  return bin;
}

describe('tampered PostgreSQL dumps', () => {
  it('a plain dump carrying psql meta-commands fails as corrupt at that line; nothing runs and the target keeps its data', async (t) => {
    if (!(await needPostgres(t))) return;
    const dir = await tempDir(t);
    const db = await pgApp(t);
    const dump = await pgPlain(db);
    const key = /^\\restrict (\w+)$/m.exec(dump)![1];
    const bare = withoutOwnRestrict(dump); // a tamperer drops the dump's own restrict lines, or lifts it with its key
    const target = parseDatabaseUrl(`${PG_URL}/${db}`);
    await pgExec(db, "UPDATE t SET v = 'changed since' WHERE id = 1");
    const before = await pgState(db);
    const m = (name: string) => path.join(dir, name);
    await writeFile(m('evil.sql'), 'CREATE TABLE sourced (x int);\n');
    const attacks: [string[], string][] = [
      [[`\\! touch ${m('shell')}`], `\\! touch ${m('shell')}`],
      [[`\\o ${m('output')}`, 'SELECT 1;'], `\\o ${m('output')}`],
      [[`\\copy (SELECT 1) to '${m('copied')}'`], '\\copy (SELECT 1)'],
      [[`\\setenv PAGER 'touch ${m('pager')}'`, '\\pset pager always', 'SELECT 1;'], '\\setenv PAGER'],
      [[`\\w ${m('written')}`], `\\w ${m('written')}`],
      [[`\\i ${m('evil.sql')}`], `\\i ${m('evil.sql')}`],
      [[`\\unrestrict ${key}`, `\\! touch ${m('unrestricted')}`], `\\! touch ${m('unrestricted')}`],
    ];
    for (const [lines, shown] of attacks) {
      const lifted = lines[0].startsWith('\\unrestrict');
      const { text, line } = inject(lifted ? dump : bare, /^CREATE TABLE public\.t /, lines);
      const at = lifted ? line + 1 : line; // the injected \unrestrict became an empty line: psql refuses the next one
      await rejects(
        ENGINES.postgres.restore(target, bytes(text), { format: 'sql', replace: true }),
        'corrupt',
        `the dump tries to run a psql command at line ${at} (\`${shown}`,
      );
      assert.equal(await pgState(db), before, `${lines[0]}: the target is as it was`);
    }
    const { text } = inject(bare, /^CREATE TABLE public\.t /, ["SELECT 'x' \\gexec"]);
    await rejects(
      ENGINES.postgres.restore(target, bytes(text), { format: 'sql', replace: true }),
      'corrupt',
      /psql command at line \d+, which no dump/,
    );
    assert.deepEqual(readdirSync(dir), ['evil.sql'], 'no file was created, written or run');
    assert.equal(await pgExec(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'sourced'"), '0');
    assert.equal(await pgState(db), before);
    await ENGINES.postgres.restore(target, bytes(dump), { format: 'sql', replace: true });
    assert.equal(
      await pgState(db),
      '1:one,2:\restrict x,3:\r,4:\\.',
      'the untampered dump restores, COPY rows that look like restrict lines included',
    );
  });

  it('a custom dump whose SQL carries a meta-command fails the same way; an untampered one restores', async (t) => {
    if (!(await needPostgres(t))) return;
    const dir = await tempDir(t);
    const db = await pgApp(t);
    const r = await run(path.join(PG_BIN, 'pg_dump'), ['-h', '127.0.0.1', '--format=custom', '--compress=0', db]);
    assert.equal(r.code, 0, r.stderr);
    const good = r.stdoutBuf;
    const pad = `'${'P'.repeat(200)}';`;
    const evil = `'x';\n\\! touch ${path.join(dir, 'custom')}\n-- `.padEnd(pad.length, ' ');
    const at = good.indexOf(pad);
    assert.ok(at > 0 && evil.length === pad.length);
    const tampered = Buffer.concat([good.subarray(0, at), Buffer.from(evil), good.subarray(at + pad.length)]);
    const target = parseDatabaseUrl(`${PG_URL}/${db}`);
    const before = await pgState(db);
    await rejects(
      ENGINES.postgres.restore(target, bytes(tampered), { format: 'custom', replace: true }),
      'corrupt',
      /^the dump tries to run a psql command at line \d+ \(`\\! touch .*custom`\) of the SQL pg_restore made of it/,
    );
    assert.ok(!existsSync(path.join(dir, 'custom')), 'the command did not run');
    assert.equal(await pgState(db), before);
    await pgExec(db, 'DELETE FROM t');
    await ENGINES.postgres.restore(target, bytes(good), { format: 'custom', replace: true });
    assert.equal(await pgState(db), before);
  });

  it('through the CLI: restore and drill of a snapshot whose dump was tampered fail with exit 5 and run nothing', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = await pgApp(t);
    const marker = path.join(dir, 'marker');
    const { text, line } = inject(withoutOwnRestrict(await pgPlain(db)), /^CREATE TABLE public\.t /, [
      `\\! touch ${marker}`,
    ]);
    await writeFile(path.join(dir, 'stored.sql'), text);
    const b = await hoard(['backup', '--db', `${PG_URL}/${db}`, '--json'], {
      env: { ...env, HOARD_PG_BINDIR: await fakePgDump(dir, path.join(dir, 'stored.sql')) },
    });
    assert.equal(b.code, 0, b.stderr);
    const id = JSON.parse(b.stdout).snapshot_id as string;
    const before = await pgState(db);
    const r = await hoard(['restore', id, '--target', `${PG_URL}/${db}`], { env });
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `failed: the dump tries to run a psql command at line ${line} \\(\`\\\\! touch .*marker\`\\), which no dump of pg_dump contains; psql refused it and ran none of the dump; .* was left as it was`,
      ),
    );
    assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    const drill = await hoard(['verify', id, '--drill', '--drill-server', `${PG_URL}/${db}`], { env });
    assert.equal(drill.code, 5, drill.stderr + drill.stdout);
    assert.match(drill.stderr + drill.stdout, /psql command at line/);
    // a drill whose restore the dump makes fail is a failed drill, recorded and shown like any other
    const shown = JSON.parse((await hoard(['list', '--json'], { env })).stdout).find(
      (b: { id: string }) => b.id === id,
    );
    assert.deepEqual([shown?.verification?.level, shown?.verification?.ok], ['drill', false]);
    assert.match(shown.verification.message, /^restoring .* failed: .*psql command at line/);
    assert.ok(!existsSync(marker), 'neither the restore nor the drill ran the command');
    assert.equal(await pgState(db), before);
    assert.equal(
      await pgExec('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE 'hoard\\_drill\\_${process.pid}%'`),
      '0',
    );
  });

  it('a psql without restricted mode is refused (exit 4) before anything is changed', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = await pgApp(t);
    assert.equal((await hoard(['backup', '--db', `${PG_URL}/${db}`], { env })).code, 0);
    const bin = path.join(dir, 'old-psql');
    await mkdir(bin);
    await writeFile(
      path.join(bin, 'psql'),
      `#!/bin/sh\n[ "$1" = --version ] && { echo 'psql (PostgreSQL) 15.13'; exit 0; }\nexec ${PG_BIN}/psql "$@"\n`,
    );
    await chmod(path.join(bin, 'psql'), 0o755);
    for (const tool of ['pg_dump', 'pg_restore', 'pg_dumpall'])
      await symlink(path.join(PG_BIN, tool), path.join(bin, tool));
    const fresh = `${db}_copy`;
    t.after(() => pgExec('postgres', `DROP DATABASE IF EXISTS ${fresh}`));
    const r = await hoard(['restore', 'latest', '--target', `${PG_URL}/${db}`, '--target-db', fresh], {
      env: { ...env, HOARD_PG_BINDIR: bin },
    });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /psql is psql 15\.13, too old to restore a dump safely: it has no restricted mode/);
    assert.match(r.stderr, /install a newer postgresql-client/);
    assert.equal(
      await pgExec('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${fresh}'`),
      '0',
      'no database was created',
    );
  });
});

/** mariadb-dump's output as hoard takes it, without the line that makes a MariaDB client sandbox itself (a tamperer drops it). */
async function myPlain(db: string): Promise<string> {
  const r = await run('mariadb-dump', [
    '--no-defaults',
    '-h',
    '127.0.0.1',
    '-u',
    'root',
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--skip-dump-date',
    '--',
    db,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/^\/\*M!999999\\- enable the sandbox mode \*\/ ?\n/, '');
}

describe('tampered MariaDB dumps', () => {
  it('client commands and LOAD DATA LOCAL INFILE are refused as corrupt at their line; nothing is run, read or written', async (t) => {
    if (!(await needMariadb(t))) return;
    const dir = await tempDir(t);
    const db = await myDatabase(t);
    await myExec(
      db,
      "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one'); CREATE TABLE leak (l text);",
    );
    const dump = await myPlain(db);
    const secret = path.join(dir, 'secret.txt');
    await writeFile(secret, 'host secret\n');
    await writeFile(path.join(dir, 'evil.sql'), 'CREATE TABLE sourced (x int);\n');
    const m = (name: string) => path.join(dir, name);
    const target = parseDatabaseUrl(`${MY_URL}/${db}`);
    const attacks: [string[], RegExp][] = [
      [[`system touch ${m('system')}`], /run a client command at line (\d+) \(`system touch /],
      [[`\\! touch ${m('bang')}`], /run a client command at line (\d+) \(`\\! touch /],
      [[`tee ${m('tee')}`, 'SELECT 1;'], /run a client command at line (\d+) \(`tee /],
      [[`source ${m('evil.sql')}`], /run a client command at line (\d+) \(`source /],
      [
        [`LOAD DATA LOCAL INFILE '${secret}' INTO TABLE leak;`],
        /read a file of this host \(LOAD DATA LOCAL INFILE\) at line (\d+) \(`LOAD DATA/,
      ],
      // the sandbox alone lets `connect` through: the rest of the dump, user and password would go to that host
      [[`connect ${db} 127.0.0.2`, 'SELECT 1;'], /run a client command at line (\d+) \(`connect /],
    ];
    let dialled = 0;
    const trap = createServer((s) => {
      dialled++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(3306, '127.0.0.2', r));
    t.after(() => new Promise<void>((r) => trap.close(() => r())));
    for (const [lines, message] of attacks) {
      const { text, line } = inject(dump, /^UNLOCK TABLES;/, lines);
      await assert.rejects(
        ENGINES.mysql.restore(target, bytes(text), { format: 'sql', replace: true }),
        (e: unknown) => {
          assert.ok(e instanceof HoardError && e.kind === 'corrupt', String(e));
          assert.equal(message.exec(e.message)?.[1], String(line), e.message);
          return true;
        },
      );
    }
    assert.deepEqual(readdirSync(dir).sort(), ['evil.sql', 'secret.txt'], 'no file was created or written');
    assert.equal(dialled, 0, 'no connection to the host a dump names');
    assert.equal(
      await myExec(
        db,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'sourced'",
      ),
      '0',
    );
    assert.equal(await myExec(db, 'SELECT COUNT(*) FROM leak'), '0', 'the server got nothing of the file');
    await ENGINES.mysql.restore(target, bytes(dump), { format: 'sql', replace: true });
    assert.equal(await myExec(db, 'SELECT v FROM t'), 'one', 'the untampered dump restores');
  });

  it('through the CLI: a snapshot whose dump runs `system` fails to restore with exit 5', async (t) => {
    if (!(await needMariadb(t))) return;
    const { env, dir } = await repo(t);
    const db = await myDatabase(t);
    await myExec(db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one');");
    const marker = path.join(dir, 'marker');
    const { text, line } = inject(await myPlain(db), /^UNLOCK TABLES;/, [`system touch ${marker}`]);
    await writeFile(path.join(dir, 'stored.sql'), text);
    const bin = path.join(dir, 'fake-my');
    await mkdir(bin);
    await writeFile(
      path.join(bin, 'mariadb-dump'),
      `#!/bin/sh\ncase "$*" in *--version*) exec /usr/bin/mariadb-dump "$@";; esac\ncat ${path.join(dir, 'stored.sql')}\n`,
    );
    await chmod(path.join(bin, 'mariadb-dump'), 0o755);
    const b = await hoard(['backup', '--db', `${MY_URL}/${db}`, '--json'], {
      env: { ...env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(b.code, 0, b.stderr);
    const r = await hoard(['restore', JSON.parse(b.stdout).snapshot_id, '--target', `${MY_URL}/${db}`], { env });
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `the dump tries to run a client command at line ${line} \\(\`system touch .*marker\`\\), which no dump of mariadb-dump or mysqldump contains`,
      ),
    );
    assert.ok(!existsSync(marker));
  });
});

describe('untrusted SQLite files', () => {
  it('a restored file is opened with trusted_schema off and no extension loading; its triggers and views do not run during the drill', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');
      CREATE TABLE fired (what TEXT);
      CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO fired VALUES ('insert'); END;
      CREATE TRIGGER t_upd AFTER UPDATE ON t BEGIN INSERT INTO fired VALUES ('update'); END;
      CREATE TRIGGER t_del AFTER DELETE ON t BEGIN INSERT INTO fired VALUES ('delete'); END;
      CREATE VIRTUAL TABLE docs USING fts5(body); INSERT INTO docs VALUES ('hello');
      CREATE VIEW uses_module AS SELECT fts5(1) AS f;`);
    db.exec('DELETE FROM fired');
    db.close();
    assert.equal((await hoard(['backup', '--db', `sqlite:${file}`], { env })).code, 0);
    const drill = await hoard(['verify', '--latest', '--drill', '--json'], { env });
    assert.equal(drill.code, 0, drill.stderr + drill.stdout);
    const restored = path.join(dir, 'restored.db');
    const r = await hoard(['restore', 'latest', '--target', `sqlite:${restored}`], { env });
    assert.equal(r.code, 0, r.stderr);
    const sql = ENGINES.sqlite.sql({ engine: 'sqlite', path: restored });
    assert.deepEqual(await sql.query('PRAGMA trusted_schema'), [['0']], 'schema code may use only innocuous functions');
    await assert.rejects(sql.query("SELECT load_extension('/nonexistent')"), /not authorized/);
    await assert.rejects(sql.query('SELECT * FROM uses_module'), /unsafe use of fts5/);
    assert.deepEqual(await sql.query('SELECT count(*) FROM fired'), [['0']], 'no trigger fired');
    assert.equal((await readFile(restored)).subarray(0, 15).toString(), 'SQLite format 3');
  });
});
