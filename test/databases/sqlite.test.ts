/** SQLite on real files: the conformance suite plus consistency under a concurrent writer and bad paths. */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { hoard, tempDir } from '../helpers/services.js';
import { type SnapshotJson, backup, databaseConformance, repo, snapshots } from './conformance.js';

const fileOf = (url: string) => url.replace(/^sqlite:/, '');

const SCHEMA = `
CREATE TABLE everything (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, j TEXT CHECK (j IS NULL OR json_valid(j)), ts TEXT, n NUMERIC, txt TEXT, f REAL, ok INTEGER);
INSERT INTO everything (b, j, ts, n, txt, f, ok) VALUES
  (x'00ff10', '{"a": [1, 2]}', '2024-03-31T01:30:00+02:00', 12345678901234.123456, 'Grüße, 東京, emoji 🎉, quote '' and backslash \\', 1.5e300, 1),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (randomblob(0) || zeroblob(5000), '[]', '1970-01-01T00:00:00Z', -0.000001, printf('%.*c', 10000, 'x'), -1e-300, 0);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE TRIGGER everything_audit AFTER INSERT ON everything BEGIN INSERT INTO audit (what) VALUES ('insert ' || NEW.id); END;
CREATE VIEW happy_rows AS SELECT id, txt FROM everything WHERE ok = 1;
CREATE INDEX everything_ts ON everything (ts);
CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 2000) INSERT INTO filler SELECT i, printf('row %d of filler text', i) FROM g;
`;

function fingerprint(url: string): Promise<Record<string, string>> {
  const db = new Database(fileOf(url), { readonly: true });
  try {
    const out: Record<string, string> = {};
    for (const o of db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY type, name`).all() as {
      type: string;
      name: string;
      sql: string | null;
    }[]) {
      out[`${o.type} ${o.name}`] = o.sql ?? '';
      if (o.type !== 'table') continue;
      const h = createHash('sha256');
      for (const row of db.prepare(`SELECT * FROM "${o.name}" ORDER BY rowid`).raw(true).iterate() as Iterable<
        unknown[]
      >)
        h.update(JSON.stringify(row.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v))));
      out[`rows ${o.name}`] = h.digest('hex');
    }
    return Promise.resolve(out);
  } finally {
    db.close();
  }
}

function exec(url: string, sql: string): void {
  const db = new Database(fileOf(url));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

async function newFile(t: TestContext, name = 'app.db'): Promise<string> {
  return path.join(await tempDir(t, 'hoard-sqlite-'), name);
}

databaseConformance({
  engine: 'sqlite',
  formats: ['sqlite'],
  available: async () => true,
  async create(t) {
    const file = await newFile(t);
    new Database(file).close();
    return `sqlite:${file}`;
  },
  fresh: async (t) => `sqlite:${await newFile(t, 'restored.db')}`,
  populate: async (url) => exec(url, SCHEMA),
  fingerprint,
  async addMigrations(url) {
    exec(
      url,
      `
      CREATE TABLE knex_migrations (id INTEGER PRIMARY KEY, name TEXT, batch INTEGER, migration_time TEXT);
      INSERT INTO knex_migrations (name, batch) VALUES ('20240101_init.js', 1), ('20240202_orders.js', 2);
      CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, checksum TEXT, finished_at TEXT, migration_name TEXT, logs TEXT, rolled_back_at TEXT, started_at TEXT, applied_steps_count INTEGER);
      INSERT INTO _prisma_migrations (id, finished_at, migration_name, started_at) VALUES ('a', '2024-01-01', '20240101_init', '2024-01-01'), ('b', '2024-02-01', '20240201_users', '2024-02-01');
      CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC);
      INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('h1', 1), ('h2', 2);
      CREATE TABLE flyway_schema_history (installed_rank INTEGER PRIMARY KEY, version TEXT, description TEXT, script TEXT, success INTEGER);
      INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'V1__init.sql', 1);`,
    );
    return { knex: '20240202_orders.js', prisma: '20240201_users', drizzle: 'h2', flyway: '1__init' };
  },
  async breakDump(_t, url) {
    // damage a table page in the middle of the file: the copy fails integrity_check (or the read fails)
    const fh = await open(fileOf(url), 'r+');
    try {
      const size = (await fh.stat()).size;
      await fh.write(Buffer.alloc(2048, 0x5a), 0, 2048, Math.floor(size / 4096 / 2) * 4096 + 8);
    } finally {
      await fh.close();
    }
    return { why: /integrity_check|SQLITE_CORRUPT|malformed/ };
  },
  modify: async (url) =>
    exec(
      url,
      `UPDATE everything SET txt = 'changed' WHERE id = 1; INSERT INTO everything (txt) VALUES ('new row'); DROP VIEW happy_rows;`,
    ),
});

const WRITER = `
const Database = require(process.argv[2]);
const db = new Database(process.argv[3], { timeout: 10000 });
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE IF NOT EXISTS counter (n INTEGER); INSERT INTO counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counter);');
const step = db.transaction((i) => {
  db.prepare('INSERT INTO events (id, body) VALUES (?, ?)').run(i, 'event ' + i + ' ' + 'x'.repeat(i % 500));
  db.prepare('UPDATE counter SET n = ?').run(i);
});
let i = 0;
process.stdout.write('ready\\n');
const nap = new Int32Array(new SharedArrayBuffer(4));
const fs = require('node:fs');
for (;;) {
  step(++i);
  if (i % 50 === 0) Atomics.wait(nap, 0, 0, 1);
  if (i % 500 === 0 && fs.existsSync(process.argv[4])) break;
}
process.stdout.write(String(i) + '\\n');
`;

describe('sqlite specifics', () => {
  it('a backup taken while another process writes (WAL) restores to a database that passes integrity_check and holds a consistent prefix', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'live.db');
    const script = path.join(dir, 'writer.cjs');
    await writeFile(script, WRITER);
    const stop = path.join(dir, 'stop');
    const writer = spawn(process.execPath, [script, require_resolve('better-sqlite3'), file, stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = new Promise<void>((r) => writer.on('close', () => r()));
    t.after(() => {
      writer.kill();
    });
    const lines: string[] = [];
    writer.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    while (!lines.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const taken: SnapshotJson[] = [];
    for (let k = 0; k < 3; k++) taken.push(await backup(env, `sqlite:${file}`));
    await new Promise((r) => setTimeout(r, 200));
    await writeFile(stop, '');
    await closed;
    const written = Number(lines.at(-1));
    let previous = 0;
    for (const { id, hoard: meta } of taken) {
      const target = path.join(dir, `restored-${id.slice(0, 8)}.db`);
      const r = await hoard(['restore', id, '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      const db = new Database(target, { readonly: true });
      try {
        assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
        const { n } = db.prepare('SELECT n FROM counter').get() as { n: number };
        const { c, m } = db.prepare('SELECT count(*) AS c, coalesce(max(id), 0) AS m FROM events').get() as {
          c: number;
          m: number;
        };
        assert.equal(c, n, 'every committed event and only those');
        assert.equal(m, n, 'ids 1..n without a gap: a prefix of the writes');
        assert.equal(
          meta?.tables.find((x: { name: string }) => x.name === 'events').rows,
          c,
          "the recorded row count is the copy's",
        );
        assert.ok(n > previous, `the writer was running during backup ${id.slice(0, 8)} (${n} > ${previous})`);
        previous = n;
      } finally {
        db.close();
      }
    }
    assert.ok(written > previous, `the writer went on after the last backup (${written} > ${previous})`);
  });

  it('not a database, a missing file, a locked database: one line, the documented exit code, nothing written', async (t) => {
    const { env, dir } = await repo(t);
    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'hello, this is not SQLite\n');
    let r = await hoard(['backup', '--db', `sqlite:${text}`], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is not a SQLite database/);
    r = await hoard(['backup', '--db', path.join(dir, 'missing.db')], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no such file/);
    const locked = path.join(dir, 'locked.db');
    exec(`sqlite:${locked}`, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require_resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(locked)}); d.exec('BEGIN EXCLUSIVE; INSERT INTO t VALUES (2)'); process.stdout.write('locked\\n'); setTimeout(() => {}, 20000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      holder.kill();
    });
    await new Promise<void>((res) => holder.stdout.once('data', () => res()));
    r = await hoard(['backup', '--db', `sqlite:${locked}`], { env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /is locked by another process/);
    for (const out of [r.stderr]) assert.ok(out.trim().split('\n').length <= 2, out);
    assert.equal((await snapshots(env)).length, 0);
  });

  it('a repository disk with less free space than the database: exit 2 before anything is written', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('mounting a tmpfs needs root');
      return;
    }
    const fsp = await import('node:fs/promises');
    const { execFileSync } = await import('node:child_process');
    const mnt = await fsp.mkdtemp(path.join((await import('node:os')).tmpdir(), 'hoard-small-'));
    t.after(async () => {
      try {
        execFileSync('umount', [mnt]);
      } catch {
        /* not mounted */
      }
      await fsp.rm(mnt, { recursive: true, force: true });
    });
    const dir = await tempDir(t);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    } catch (e) {
      if (process.env.HOARD_TEST_REQUIRE_SERVICES === '1') throw e;
      t.skip(`cannot mount a tmpfs: ${(e as Error).message}`);
      return;
    }
    const env = { HOARD_PASSWORD: 'pw', HOARD_REPOSITORY: path.join(mnt, 'repo') };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const file = path.join(dir, 'big.db');
    exec(
      `sqlite:${file}`,
      `CREATE TABLE t (x); WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 4000) INSERT INTO t SELECT randomblob(1000) FROM g;`,
    );
    const r = await hoard(['backup', '--db', `sqlite:${file}`], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /has [\d.]+ MiB free but the database is about [\d.]+ MiB/);
    assert.equal((await snapshots(env)).length, 0);
  });

  it('a folder as the target receives the database under its own name', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'shop.db');
    exec(`sqlite:${file}`, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const s = await backup(env, `sqlite:${file}`);
    const folder = path.join(dir, 'out');
    await (await import('node:fs/promises')).mkdir(folder);
    const r = await hoard(['restore', s.id, '--target', folder], { env });
    assert.equal(r.code, 0, r.stderr);
    const db = new Database(path.join(folder, 'shop.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT x FROM t').raw(true).all(), [[1]]);
    } finally {
      db.close();
    }
  });

  it('a restore never leaves a half-written target: a failing restore keeps the old file', async (t) => {
    const { env, dir } = await repo(t);
    const file = path.join(dir, 'app.db');
    exec(`sqlite:${file}`, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const s = await backup(env, `sqlite:${file}`);
    const target = path.join(dir, 'busy.db');
    exec(`sqlite:${target}`, 'CREATE TABLE other (y); INSERT INTO other VALUES (9);');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require_resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(target)}); d.exec('BEGIN EXCLUSIVE; INSERT INTO other VALUES (10)'); process.stdout.write('locked\\n'); setTimeout(() => {}, 30000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      holder.kill();
    });
    await new Promise<void>((res) => holder.stdout.once('data', () => res()));
    const r = await hoard(['restore', s.id, '--target', target], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /locked by another process/);
    const gone = new Promise((res) => holder.on('close', res));
    holder.kill();
    await gone;
    const db = new Database(target, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT y FROM other').raw(true).all(), [[9]]);
    } finally {
      db.close();
    }
    const leftovers = (await import('node:fs/promises')).readdir(dir);
    assert.deepEqual(
      (await leftovers).filter((n) => n.includes('hoard-restore')),
      [],
    );
  });
});

function require_resolve(name: string): string {
  return path.join(path.dirname(new URL(import.meta.url).pathname), '../../../node_modules', name);
}
