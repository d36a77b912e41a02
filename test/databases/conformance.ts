/**
 * One conformance suite for every database engine, run against the real servers (and real SQLite
 * files) by postgres.test.ts, mysql.test.ts and sqlite.test.ts. Each engine supplies a fixture;
 * the suite checks what a user relies on: an exact round trip of schema and data, metadata
 * without secrets, restic reading the same bytes, failed dumps leaving no snapshot, and restores
 * that snapshot what they overwrite.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { hoard, needRestic, restic, tempDir } from '../helpers/services.js';

export interface DbFixture {
  engine: 'postgres' | 'mysql' | 'sqlite';
  /** Formats to round-trip (the first is the default). */
  formats: string[];
  /** False (skipped) or throws (under HOARD_TEST_REQUIRE_SERVICES=1) when the server is missing. */
  available(t: TestContext): Promise<boolean>;
  /** A fresh empty database, removed after the test; returns its URL (may carry a password). */
  create(t: TestContext): Promise<string>;
  /** A URL for a database that does not exist yet (removed after the test if created). */
  fresh(t: TestContext): Promise<string>;
  /** Loads the schema that uses every common type, views, routines, triggers, sequences. */
  populate(url: string): Promise<void>;
  /** Schema text, per-table checksums and sequence values: equal iff the databases are equal. */
  fingerprint(url: string): Promise<Record<string, string>>;
  /** Adds migration tables; returns the frameworks expected in the metadata with their last migration. */
  addMigrations(url: string): Promise<Record<string, string>>;
  /** Changes the database so that the next dump fails; returns the URL to back up and what the error must mention. */
  breakDump(t: TestContext, url: string): Promise<{ url?: string; why: RegExp }>;
  /** Changes data (so a restore has something to undo). */
  modify(url: string): Promise<void>;
  /** A password that must never show up anywhere (in the URL the fixture returns), if any. */
  secret?: string;
}

export interface SnapshotJson {
  id: string;
  paths: string[];
  tags?: string[];
  // biome-ignore lint/suspicious/noExplicitAny: snapshot metadata of every engine, read loosely by the shared checks
  hoard?: Record<string, any>;
}

export async function repo(t: TestContext): Promise<{ env: NodeJS.ProcessEnv; dir: string; password: string }> {
  const dir = await tempDir(t, 'hoard-db-');
  const password = 'conformance-pw';
  const env = { HOARD_PASSWORD: password, HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_ENVIRONMENT: '' };
  const r = await hoard(['init'], { env });
  assert.equal(r.code, 0, r.stderr);
  return { env, dir, password };
}

export async function snapshots(env: NodeJS.ProcessEnv): Promise<SnapshotJson[]> {
  const r = await hoard(['snapshots', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as SnapshotJson[];
}

export async function backup(env: NodeJS.ProcessEnv, url: string, extra: string[] = []): Promise<SnapshotJson> {
  const r = await hoard(['backup', '--db', 'env:TEST_DB_URL', '--json', ...extra], {
    env: { ...env, TEST_DB_URL: url },
  });
  assert.equal(r.code, 0, `backup failed: ${r.stderr}`);
  const id = JSON.parse(r.stdout).snapshot_id as string;
  const s = (await snapshots(env)).find((x) => x.id === id);
  assert.ok(s, 'the snapshot is listed');
  return s;
}

export function databaseConformance(f: DbFixture): void {
  describe(`database conformance: ${f.engine}`, () => {
    for (const format of f.formats) {
      it(`round trip (${format}): restored schema and per-table checksums equal the source's; restic dump gives the bytes hoard restores from`, async (t) => {
        if (!(await f.available(t)) || !(await needRestic(t))) return;
        const { env, password } = await repo(t);
        const src = await f.create(t);
        await f.populate(src);
        const before = await f.fingerprint(src);
        assert.ok(
          Object.keys(before).length >= 6,
          `the fingerprint covers schema objects and tables: ${Object.keys(before).join(', ')}`,
        );
        const s = await backup(env, src, format === f.formats[0] ? [] : ['--format', format]);
        assert.equal(s.hoard?.database.format, format);
        const dst = await f.fresh(t);
        const r = await hoard(['restore', s.id, '--target', 'env:TEST_DB_URL'], { env: { ...env, TEST_DB_URL: dst } });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await f.fingerprint(dst), before);
        if (format !== 'directory') {
          const file = s.paths[0];
          const ours = await hoard(['dump', s.id, file], { env });
          const theirs = await restic(env.HOARD_REPOSITORY!, password, ['dump', s.id, file]);
          assert.equal(theirs.code, 0, theirs.stderr);
          assert.ok(ours.stdoutBuf.length > 0);
          assert.ok(ours.stdoutBuf.equals(theirs.stdoutBuf), 'restic dump and hoard dump give the same bytes');
        }
        const check = await restic(env.HOARD_REPOSITORY!, password, ['check', '--read-data']);
        assert.equal(check.code, 0, check.stderr);
      });
    }

    it('records engine, versions, tables with row counts and migrations, never the password', async (t) => {
      if (!(await f.available(t)) || !(await needRestic(t))) return;
      const { env, password } = await repo(t);
      const src = await f.create(t);
      await f.populate(src);
      const expected = await f.addMigrations(src);
      const r = await hoard(
        ['backup', '--db', 'env:TEST_DB_URL', '--label', 'before-v2', '--kind', 'daily', '--reason', 'conformance'],
        { env: { ...env, TEST_DB_URL: src } },
      );
      assert.equal(r.code, 0, r.stderr);
      const s = (await snapshots(env)).at(-1)!;
      const h = s.hoard!;
      assert.equal(h.kind, 'daily');
      assert.equal(h.label, 'before-v2');
      assert.equal(h.database.engine, f.engine);
      assert.ok(h.database.server_version && h.database.tool_version, 'versions recorded');
      assert.ok(h.size.dump_bytes > 0 && h.duration_ms >= 0);
      const everything = h.tables.find((x: { name: string }) => /everything$/.test(x.name));
      assert.equal(everything?.rows, 3, 'row count of the typed table');
      for (const [framework, last] of Object.entries(expected)) {
        const m = h.migrations.find((x: { framework: string }) => x.framework === framework);
        assert.ok(
          m,
          `${framework} detected in ${JSON.stringify(h.migrations.map((x: { framework: string }) => x.framework))}`,
        );
        assert.equal(m.last, last);
        assert.equal(m.applied, m.list.length);
      }
      assert.ok(s.tags?.includes('kind:daily') && s.tags?.includes('label:before-v2'), 'searchable tags');
      if (f.secret) {
        const raw = await restic(env.HOARD_REPOSITORY!, password, ['cat', 'snapshot', s.id]);
        assert.equal(raw.code, 0, raw.stderr);
        assert.ok(!raw.stdout.includes(f.secret), 'the password is not in the snapshot');
        assert.ok(!r.stdout.includes(f.secret) && !r.stderr.includes(f.secret), 'nor in the output');
      }
      const byLabel = await hoard(['restore', 'before-v2', '--target', 'env:TEST_DB_URL', '--dry-run'], {
        env: { ...env, TEST_DB_URL: src },
      });
      assert.equal(byLabel.code, 0, byLabel.stderr);
      assert.match(byLabel.stdout, new RegExp(`would restore .* of snapshot ${s.id.slice(0, 8)}`));
    });

    it('a dump that fails leaves no snapshot and says why', async (t) => {
      if (!(await f.available(t))) return;
      const { env } = await repo(t);
      const src = await f.create(t);
      await f.populate(src);
      const { url = src, why } = await f.breakDump(t, src);
      const r = await hoard(['backup', '--db', 'env:TEST_DB_URL'], { env: { ...env, TEST_DB_URL: url } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, why);
      assert.ok(r.stderr.split('\n').filter(Boolean).length <= 3, `a short message, got: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal((await snapshots(env)).length, 0);
    });

    it('restore over data: dry-run changes nothing, a protected environment needs --yes, a pre-restore snapshot keeps what was overwritten', async (t) => {
      if (!(await f.available(t))) return;
      const { env } = await repo(t);
      const src = await f.create(t);
      await f.populate(src);
      const original = await f.fingerprint(src);
      const s = await backup(env, src);
      await f.modify(src);
      const modified = await f.fingerprint(src);
      assert.notDeepEqual(modified, original);
      const tenv = { ...env, TEST_DB_URL: src };
      const dry = await hoard(['restore', s.id, '--target', 'env:TEST_DB_URL', '--dry-run'], { env: tenv });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /pre-restore snapshot would be taken/);
      const guarded = await hoard(['restore', s.id, '--target', 'env:TEST_DB_URL', '--environment', 'production'], {
        env: tenv,
      });
      assert.equal(guarded.code, 1);
      assert.match(guarded.stderr, /protected.*nothing was changed/);
      assert.deepEqual(await f.fingerprint(src), modified, 'dry-run and the refused restore changed nothing');
      assert.equal((await snapshots(env)).length, 1);
      const done = await hoard(
        ['restore', s.id, '--target', 'env:TEST_DB_URL', '--environment', 'production', '--yes', '--json'],
        { env: tenv },
      );
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(await f.fingerprint(src), original);
      const pre = JSON.parse(done.stdout).pre_restore_snapshot_id as string;
      const preSnap = (await snapshots(env)).find((x) => x.id === pre);
      assert.equal(preSnap?.hoard?.kind, 'pre-restore');
      const undo = await hoard(['restore', pre, '--target', 'env:TEST_DB_URL'], { env: tenv });
      assert.equal(undo.code, 0, undo.stderr);
      assert.deepEqual(await f.fingerprint(src), modified, 'the pre-restore snapshot brings back what was overwritten');
    });

    it('a snapshot of another engine or of files is refused with exit 1 and nothing written', async (t) => {
      if (!(await f.available(t))) return;
      const { env, dir } = await repo(t);
      const src = await f.create(t);
      await f.populate(src);
      const s = await backup(env, src);
      const other = f.engine === 'sqlite' ? 'postgres://127.0.0.1/nothing_here' : `sqlite:${path.join(dir, 'x.db')}`;
      const r = await hoard(['restore', s.id, '--target', other], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`is a ${f.engine} backup; it cannot be restored into`));
      assert.equal((await snapshots(env)).length, 1);
    });
  });
}
