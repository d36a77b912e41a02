/**
 * What reaches the database tools, on the real servers with spy wrappers around the real tools.
 * Database names are data, never options or connection strings (`--help…`, `-X…`, `a=b`,
 * `dbname=other host=…`). Tools get only their target's credentials: PGPASSWORD, PGSERVICE,
 * MYSQL_PWD or a ~/.my.cnf password that hoard itself has do not reach them; the URL's password,
 * `passfile` and `defaults_file` do.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  MY_URL,
  PG_URL,
  dropMy,
  dropPg,
  mariadb,
  myExec,
  needMariadb,
  needPostgres,
  pgExec,
  uniqueName,
} from '../helpers/databases.js';
import { hoard } from '../helpers/services.js';
import { repo } from './conformance.js';

const PG_BIN = `/usr/lib/postgresql/${
  readdirSync('/usr/lib/postgresql')
    .map(Number)
    .sort((a, b) => b - a)[0]
}/bin`;

/** A folder of wrappers that log each call (argv, then the PG*, MYSQL* and HOME variables it got) and run the real tool. */
async function spies(dir: string, tools: Record<string, string>): Promise<{ bin: string; log: () => Promise<string> }> {
  const bin = path.join(dir, 'spy');
  const log = path.join(dir, 'calls.log');
  await mkdir(bin);
  for (const [name, real] of Object.entries(tools)) {
    await writeFile(
      path.join(bin, name),
      `#!/bin/sh\n{ echo "== ${name} $*"; env | grep -E '^(PG|MYSQL|HOME=)' | sort; } >> ${log}\nexec ${real} "$@"\n`,
    );
    await chmod(path.join(bin, name), 0o755);
  }
  return { bin, log: () => readFile(log, 'utf8') };
}

/** A PostgreSQL database under `name` (any characters), dropped after the test. */
async function pgNamed(t: TestContext, name: string, value: string): Promise<string> {
  const q = `"${name.replace(/"/g, '""')}"`;
  await pgExec('postgres', `CREATE DATABASE ${q}`);
  t.after(() => dropPg(q));
  await pgExec(name, `CREATE TABLE t (v text); INSERT INTO t VALUES ('${value}');`);
  return name;
}

/** A project folder whose hoard.yaml holds `sources` (the repository comes from HOARD_REPOSITORY). */
async function projectWith(dir: string, sources: string): Promise<string> {
  const proj = path.join(dir, 'project');
  await mkdir(proj, { recursive: true });
  await writeFile(path.join(proj, 'hoard.yaml'), `sources:\n${sources}\n`);
  return proj;
}

const pgUrl = (db: string, query = '') => `${PG_URL}/${encodeURIComponent(db)}${query}`;

describe('database names are never options or connection strings', () => {
  it('PostgreSQL: names with "=" back up and restore the database they name, not the one they spell', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const decoy = await pgNamed(t, uniqueName(), 'decoy');
    for (const name of [`dbname=${decoy} host=127.0.0.1`, `${uniqueName()} a=b`]) {
      await pgNamed(t, name, 'real');
      for (const format of ['sql', 'custom', 'directory']) {
        const b = await hoard(['backup', '--db', pgUrl(name), '--format', format, '--json'], { env });
        assert.equal(b.code, 0, `${name} ${format}: ${b.stderr}`);
        const copy = `${uniqueName()} copy=${format}`;
        t.after(() => dropPg(`"${copy}"`));
        const r = await hoard(
          ['restore', JSON.parse(b.stdout).snapshot_id, '--target', pgUrl(name), '--target-db', copy],
          { env },
        );
        assert.equal(r.code, 0, `${name} ${format}: ${r.stderr}`);
        assert.equal(await pgExec(copy, 'SELECT v FROM t'), 'real', `${name} ${format}`);
      }
    }
  });

  it('MariaDB: names that look like options back up and restore', async (t) => {
    if (!(await needMariadb(t))) return;
    const { env } = await repo(t);
    for (const name of [`--help_${uniqueName()}`, `-X${uniqueName()}`]) {
      const q = `\`${name}\``;
      await myExec(null, `CREATE DATABASE ${q}; CREATE TABLE ${q}.t (v text); INSERT INTO ${q}.t VALUES ('real');`);
      t.after(() => dropMy(q));
      const b = await hoard(['backup', '--db', `${MY_URL}/${encodeURIComponent(name)}`, '--json'], { env });
      assert.equal(b.code, 0, `${name}: ${b.stderr}`);
      const copy = `-${uniqueName()}_copy`;
      t.after(() => dropMy(`\`${copy}\``));
      const r = await hoard(
        [
          'restore',
          JSON.parse(b.stdout).snapshot_id,
          '--target',
          `${MY_URL}/${encodeURIComponent(name)}`,
          '--target-db',
          copy,
        ],
        { env },
      );
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(await myExec(copy, 'SELECT v FROM t'), 'real');
    }
  });
});

describe('tools get only the credentials configured for their target', () => {
  it("PostgreSQL: hoard's own PGPASSWORD, PGHOST, PGSERVICE, PGPASSFILE, PGOPTIONS stay out; the URL's password and passfile get in", async (t) => {
    if (!(await needPostgres(t))) return;
    const { env, dir } = await repo(t);
    const db = uniqueName();
    await pgNamed(t, db, 'x');
    const spy = await spies(
      dir,
      Object.fromEntries(['pg_dump', 'psql', 'pg_restore', 'pg_dumpall'].map((n) => [n, path.join(PG_BIN, n)])),
    );
    const own = {
      PGPASSWORD: 'hoards-own-secret',
      PGHOST: '/nonexistent',
      PGSERVICE: 'no_such_service',
      PGPASSFILE: '/nonexistent/pgpass',
      PGOPTIONS: '-c no_such.setting',
      HOARD_PG_BINDIR: spy.bin,
    };
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, '', { mode: 0o600 });
    // a configured source: hoard's own variables are not its credentials
    const proj = await projectWith(
      dir,
      `  db: { type: postgres, url: "${pgUrl(db, `?passfile=${encodeURIComponent(passfile)}`)}", format: custom }`,
    );
    const b = await hoard(['backup', 'db'], { cwd: proj, env: { ...env, ...own } });
    assert.equal(b.code, 0, b.stderr);
    const r = await hoard(['restore', 'latest', '--target', `postgres://root:url-secret@127.0.0.1:5432/${db}`], {
      cwd: proj,
      env: { ...env, ...own },
    });
    assert.equal(r.code, 0, r.stderr);
    const log = await spy.log();
    for (const tool of ['pg_dump', 'psql', 'pg_restore'])
      assert.match(log, new RegExp(`^== ${tool} `, 'm'), `${tool} ran`);
    for (const leak of ['hoards-own-secret', 'PGSERVICE', 'PGOPTIONS', '/nonexistent'])
      assert.ok(!log.includes(leak), `${leak} reached a tool:\n${log}`);
    assert.match(log, new RegExp(`^PGPASSFILE=${passfile}$`, 'm'), 'the passfile of the URL');
    assert.match(log, /^PGPASSWORD=url-secret$/m, "the target URL's password, as PGPASSWORD of the child");
    assert.match(log, /^HOME=/m, '~/.pgpass stays reachable');
    assert.ok(!log.split('\n').some((l) => l.startsWith('==') && l.includes('url-secret')), 'never in argv');
    // a URL typed on the command line takes the shell's PGPASSWORD: the user chose that target
    const typed = await hoard(['backup', '--db', pgUrl(db), '--format', 'custom'], {
      env: { ...env, HOARD_PG_BINDIR: spy.bin, PGPASSWORD: 'typed-shell-secret' },
    });
    assert.equal(typed.code, 0, typed.stderr);
    assert.match(await spy.log(), /^PGPASSWORD=typed-shell-secret$/m);
  });

  it("MariaDB: hoard's own MYSQL_PWD and ~/.my.cnf stay out (--no-defaults first); the URL's password and defaults_file get in", async (t) => {
    if (!(await needMariadb(t))) return;
    const { env, dir } = await repo(t);
    const db = uniqueName();
    await myExec(null, `CREATE DATABASE ${db}; CREATE TABLE ${db}.t (v text); INSERT INTO ${db}.t VALUES ('x');`);
    t.after(() => dropMy(db));
    const home = path.join(dir, 'home');
    await mkdir(home);
    await writeFile(path.join(home, '.my.cnf'), '[client]\npassword=cnf-secret-for-any-host\n');
    const spy = await spies(dir, { mariadb: '/usr/bin/mariadb', 'mariadb-dump': '/usr/bin/mariadb-dump' });
    const own = {
      MYSQL_PWD: 'hoards-own-secret',
      MYSQL_HOST: '192.0.2.1',
      HOME: home,
      PATH: `${spy.bin}:${process.env.PATH}`,
    };
    const proj = await projectWith(dir, `  db: { type: mysql, url: "${MY_URL}/${db}" }`);
    const b = await hoard(['backup', 'db'], { cwd: proj, env: { ...env, ...own } });
    assert.equal(b.code, 0, b.stderr);
    const r = await hoard(['restore', 'latest'], { cwd: proj, env: { ...env, ...own } });
    assert.equal(r.code, 0, r.stderr);
    let log = await spy.log();
    const calls = log.split('\n').filter((l) => l.startsWith('== '));
    assert.ok(
      calls.some((l) => l.startsWith('== mariadb-dump ')) && calls.some((l) => l.startsWith('== mariadb ')),
      log,
    );
    for (const call of calls) assert.match(call, /^== [\w-]+ --no-defaults( |$)/, 'option files are never read');
    for (const leak of ['hoards-own-secret', 'MYSQL_HOST', 'MYSQL_PWD'])
      assert.ok(!log.includes(leak), `${leak} reached a tool:\n${log}`);

    const user = uniqueName('hu').slice(0, 30);
    const secret = `user-secret-${process.pid}`;
    await myExec(
      null,
      `CREATE USER '${user}'@'%' IDENTIFIED BY '${secret}'; CREATE USER '${user}'@'localhost' IDENTIFIED BY '${secret}';
      GRANT ALL ON ${db}.* TO '${user}'@'%'; GRANT ALL ON ${db}.* TO '${user}'@'localhost';`,
    );
    t.after(() => mariadb(null, `DROP USER IF EXISTS '${user}'@'%'; DROP USER IF EXISTS '${user}'@'localhost';`));
    const options = path.join(dir, 'client.cnf');
    await writeFile(options, `[client]\npassword=${secret}\n`);
    const viaFile = await hoard(
      ['backup', '--db', `mysql://${user}@127.0.0.1:3306/${db}?defaults_file=${encodeURIComponent(options)}`],
      { env: { ...env, ...own, MYSQL_PWD: '' } },
    );
    assert.equal(viaFile.code, 0, viaFile.stderr);
    const viaUrl = await hoard(['backup', '--db', `mysql://${user}:${secret}@127.0.0.1:3306/${db}`], {
      env: { ...env, ...own, MYSQL_PWD: '' },
    });
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    log = await spy.log();
    assert.match(
      log,
      new RegExp(`^== mariadb-dump --defaults-file=${options} `, 'm'),
      'the URL names the option file to read',
    );
    assert.match(log, new RegExp(`^MYSQL_PWD=${secret}$`, 'm'), "the URL's password, as MYSQL_PWD of the child");
    assert.ok(!log.split('\n').some((l) => l.startsWith('==') && l.includes(secret)), 'never in argv');
  });
});
