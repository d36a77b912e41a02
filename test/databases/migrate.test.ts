/** `hoard migrate`: pre-migration snapshots, the command's outcome recorded, a restore when it fails. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { PG_URL, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';
import { hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { repo, snapshots } from './conformance.js';

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as { name: string }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('hoard migrate', () => {
  it('SQLite: a successful migration keeps its change; a failing one is rolled back from the pre-migration snapshot; the outcome is on the snapshot', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (1), (2);');
    db.close();
    const ok = await hoard(
      [
        'migrate',
        '--db',
        `sqlite:${file}`,
        '--label',
        'v2',
        '--',
        'sqlite3',
        file,
        'CREATE TABLE orders (id INTEGER PRIMARY KEY);',
      ],
      { env },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /the migration succeeded/);
    assert.deepEqual(tables(file), ['orders', 'users']);
    let list = await snapshots(env);
    assert.equal(list.length, 1);
    assert.equal(list[0].hoard?.kind, 'pre-migration');
    assert.equal(list[0].hoard?.migration.outcome, 'succeeded');
    assert.ok(list[0].tags?.includes('kind:pre-migration'));

    const bad = await hoard(
      [
        'migrate',
        '--db',
        `sqlite:${file}`,
        '--',
        'sh',
        '-c',
        `sqlite3 '${file}' 'CREATE TABLE half_done (x)' && exit 3`,
      ],
      { env },
    );
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /the migration failed \(exit 3\); the databases were restored/);
    assert.deepEqual(tables(file), ['orders', 'users'], 'the half-done change is gone');
    list = await snapshots(env);
    const pre = list.filter((s) => s.hoard?.kind === 'pre-migration');
    assert.equal(pre.length, 2);
    assert.equal(pre.at(-1)!.hoard?.migration.outcome, 'failed-restored');
    assert.equal(pre.at(-1)!.hoard?.migration.exit_code, 3);
    assert.equal(list.filter((s) => s.hoard?.kind === 'pre-restore').length, 1, 'the failed state is kept too');

    const manual = await hoard(
      [
        'migrate',
        '--db',
        `sqlite:${file}`,
        '--no-restore',
        '--',
        'sh',
        '-c',
        `sqlite3 '${file}' 'CREATE TABLE kept (x)'; exit 2`,
      ],
      { env },
    );
    assert.equal(manual.code, 1);
    assert.match(manual.stdout, /nothing was restored. To go back:\n {2}hoard restore [0-9a-f]{8} --target sqlite:/);
    assert.ok(tables(file).includes('kept'));
    const cmd = /hoard restore ([0-9a-f]{8}) --target (\S+)/.exec(manual.stdout)!;
    const back = await hoard(['restore', cmd[1], '--target', cmd[2]], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(tables(file), ['orders', 'users'], 'the printed command restores');
  });

  it('with hoard.yaml: no --db guards every database source, recorded under its source name', async (t) => {
    const dir = await tempDir(t, 'hoard-migrate-project-');
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY);');
    db.close();
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const bad = await hoard(['migrate', '--', 'sh', '-c', 'sqlite3 app.db "DROP TABLE users" && exit 4'], {
      cwd: dir,
      env: CLEAN_ENV,
    });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /pre-migration snapshot [0-9a-f]{8} of sqlite:.*app\.db/);
    assert.deepEqual(tables(file), ['users'], 'restored');
    const list = JSON.parse(
      (await hoard(['list', '--json', '--kind', 'pre-migration'], { cwd: dir, env: CLEAN_ENV })).stdout,
    );
    assert.deepEqual(
      list.map((r: { source: string }) => r.source),
      ['app'],
    );
    const unknown = await hoard(['migrate', '--source', 'nope', '--', 'true'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nope is not a database source of .*hoard\.yaml/);
  });

  it('PostgreSQL: a failing migration command is rolled back', async (t) => {
    if (!(await needPostgres(t))) return;
    const { env } = await repo(t);
    const db = await pgDatabase(t);
    await pgExec(db, 'CREATE TABLE users (id int); INSERT INTO users VALUES (1);');
    const r = await hoard(
      [
        'migrate',
        '--db',
        `${PG_URL}/${db}`,
        '--',
        'sh',
        '-c',
        `psql -q -h 127.0.0.1 -d ${db} -c 'DROP TABLE users' && exit 1`,
      ],
      { env },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(await pgExec(db, 'SELECT count(*) FROM users'), '1');
  });

  it('a command with passwords in it (anywhere in its words) is stored without them', async (t) => {
    const { env, dir, password } = await repo(t);
    const file = path.join(dir, 'app.db');
    new Database(file).close();
    const said =
      'echo --url=postgres://u:pw1@h/db VAR=mysql://u:pw2/x@h/db PGPASSWORD=pw3 host=h password=pw4 ' +
      'mysql -u root -ppw5 app; exit 1';
    const r = await hoard(['migrate', '--db', `sqlite:${file}`, '--no-restore', '--', 'sh', '-c', said], { env });
    assert.equal(r.code, 1, r.stderr);
    const [s] = (await snapshots(env)).filter((x) => x.hoard?.kind === 'pre-migration');
    assert.equal(
      s.hoard?.migration.command,
      'sh -c echo --url=postgres://u:***@h/db VAR=mysql://u:***@h/db PGPASSWORD=*** host=h password=*** ' +
        'mysql -u root -p*** app; exit 1',
    );
    const stored = [JSON.stringify(s), (await hoard(['list', '--json'], { env })).stdout];
    if (await needRestic(t))
      stored.push((await restic(env.HOARD_REPOSITORY!, password, ['snapshots', '--json'])).stdout);
    for (const text of stored) {
      assert.match(text, /pre-migration/);
      for (const secret of ['pw1', 'pw2', 'pw3', 'pw4', 'pw5'])
        assert.ok(!text.includes(secret), `${secret} is stored: ${text}`);
    }
  });

  it('a command that cannot start changes nothing and says so', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'app.db');
    new Database(file).close();
    const r = await hoard(['migrate', '--db', `sqlite:${file}`, '--', 'no-such-migrator-xyz'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot run no-such-migrator-xyz: command not found/);
  });
});
