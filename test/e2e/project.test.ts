/**
 * The everyday CLI on a real project, as a user runs it: the built CLI as a subprocess in a
 * temporary project holding a SQLite file, a PostgreSQL URL in .env and a folder of uploads.
 * init (non-interactive) → backup → list with each filter → info → status --json → restore
 * --dry-run → restore --latest → delete → cleanup --dry-run → dump, each output checked; restic
 * checks the repository init created.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'zstd-napi';
import { ROOT, hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { PG_URL, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';
import { CLEAN_ENV } from '../helpers/project.js';

type Rec = {
  id: string;
  short_id: string;
  kind: string;
  source: string;
  label: string | null;
  environment: string | null;
  expires_at: string | null;
  size: number;
};

describe('project CLI end to end', () => {
  it('init, backup, list, info, status, restore, delete, cleanup and dump on a real project', async (t) => {
    if (!(await needPostgres(t))) return;
    const dir = await tempDir(t, 'hoard-project-');
    const db = await pgDatabase(t);
    await pgExec(
      db,
      'CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, md5(g::text) ' +
        'FROM generate_series(1, 500) g;',
    );
    await mkdir(path.join(dir, 'data'));
    await mkdir(path.join(dir, 'uploads'));
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'data', 'app.db'));
    await writeFile(path.join(dir, 'uploads', 'logo.txt'), 'logo\n');
    await writeFile(path.join(dir, '.env'), `# app settings\nDATABASE_URL="${PG_URL}/${db}"\n`);
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      hoard(args, { cwd: dir, env: { ...CLEAN_ENV, ...env } });

    // init: detects both databases, writes hoard.yaml, a 0600 password, the repository, first backups and a check
    const init = await cli(['init', '--files', 'uploads']);
    assert.equal(init.code, 0, init.stderr + init.stdout);
    assert.match(init.stdout, /wrote hoard\.yaml: 3 source\(s\)/);
    assert.match(init.stdout, /KEEP A COPY OF THAT PASSWORD FILE/);
    assert.match(init.stdout, /check: 3 snapshot\(s\), no errors/);
    const yaml = await readFile(path.join(dir, 'hoard.yaml'), 'utf8');
    assert.match(yaml, /url: "env:DATABASE_URL"/, 'the URL is referenced, never copied');
    assert.doesNotMatch(yaml, /postgres:\/\//, 'no connection string in the file');
    assert.match(yaml, /path: data\/app\.db/);
    assert.equal((await stat(path.join(dir, '.hoard', 'password'))).mode & 0o777, 0o600);
    const pg = db; // the source is named after the database
    assert.match(yaml, new RegExp(`^  ${pg}:$`, 'm'));
    if (await needRestic(t)) {
      const pw = (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim();
      const chk = await restic(path.join(dir, '.hoard', 'repo'), pw, ['check']);
      assert.equal(chk.code, 0, chk.stderr);
    }

    // backup: every source, labelled; then a job
    const b = await cli(['backup', '--label', 'before-v2', '--reason', 'e2e test', '--json']);
    assert.equal(b.code, 0, b.stderr);
    const sums = b.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(sums.map((s) => s.source).sort(), [pg, 'app', 'files'].sort());
    assert.ok(
      sums.every(
        (s) =>
          s.status === 'success' &&
          /^[0-9a-f]{64}$/.test(s.snapshot_id) &&
          s.kind === 'manual' &&
          s.expires_at === null,
      ),
    );
    const job = await cli(['backup', 'daily', '--json']);
    assert.equal(job.code, 0, job.stderr);
    const daily = job.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(daily.length, 3);
    for (const d of daily) {
      assert.equal(d.kind, 'daily');
      const days = (Date.parse(d.expires_at) - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days < 30.1, `expires in 30 days (dev default via the job), got ${days}`);
    }
    const text = await cli(['backup', 'app']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /saved app snapshot [0-9a-f]{8}/);
    assert.match(text.stdout, /dedup \d+%/);
    assert.match(text.stdout, /restore: hoard restore [0-9a-f]{8}/);

    // list with each filter
    const all: Rec[] = JSON.parse((await cli(['list', '--json'])).stdout);
    assert.equal(all.length, 10);
    const count = async (...f: string[]) => (JSON.parse((await cli(['list', '--json', ...f])).stdout) as Rec[]).length;
    assert.equal(await count('--kind', 'daily'), 3);
    assert.equal(await count('--kind', 'manual'), 7);
    assert.equal(await count('--source', 'app'), 4);
    assert.equal(await count('--env', 'dev'), 10);
    assert.equal(await count('--env', 'production'), 0);
    assert.equal(await count('--days', '1'), 10);
    assert.equal(await count('--label', 'before-v2'), 3);
    const table = await cli(['list', '--source', pg, '--show-size']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+Created\s+Kind\s+Label\s+Env\s+Source\s+Size\s+Added\s+Status\s+Expires/m);
    assert.match(table.stdout, /3 backups of 10/);
    assert.match(table.stdout, /in 30 d/);

    // info by prefix
    const one = all.find((r) => r.source === pg && r.label === 'before-v2')!;
    const info = await cli(['info', one.id.slice(0, 10)]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`source\\s+${pg} \\(postgres\\)`));
    assert.match(info.stdout, /tables\s+public\.orders 500/);
    assert.match(info.stdout, /reason\s+e2e test/);

    // status --json
    const st = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.equal(st.sources.length, 3);
    for (const s of st.sources) {
      assert.ok(s.last_backup && s.last_backup.age_hours < 1, `${s.source} has a fresh backup`);
      assert.ok(Date.parse(s.next_run) > Date.now(), `${s.source} has a next run`);
      assert.equal(s.schedule, 'daily at 02:00');
    }
    assert.ok(st.repository.size_bytes > 0);
    assert.equal(st.repository.snapshots, 10);
    assert.deepEqual(st.warnings, []);

    // restore --dry-run changes nothing; restore --latest brings the data back, with a pre-restore snapshot
    await pgExec(db, 'DELETE FROM orders WHERE id > 100');
    const dry = await cli(['restore', '--latest', '--source', pg, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would restore/);
    assert.equal(await pgExec(db, 'SELECT count(*) FROM orders'), '100');
    const rs = await cli(['restore', '--latest', '--source', pg, '--json']);
    assert.equal(rs.code, 0, rs.stderr);
    assert.equal(await pgExec(db, 'SELECT count(*) FROM orders'), '500');
    const pre = JSON.parse(rs.stdout).pre_restore_snapshot_id;
    assert.match(pre, /^[0-9a-f]{64}$/);
    const preRec: Rec[] = JSON.parse((await cli(['list', '--json', '--kind', 'pre-restore'])).stdout);
    assert.equal(preRec.length, 1);

    // delete one backup
    const del = await cli(['delete', one.short_id]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, new RegExp(`deleted backup ${one.short_id}`));
    assert.equal(await count(), 10, '10 + 1 pre-restore - 1 deleted');

    // cleanup --dry-run: a plan, nothing removed
    const cl = await cli(['cleanup', '--older-than', '1s', '--dry-run', '--json']);
    assert.equal(cl.code, 0, cl.stderr);
    const plan = JSON.parse(cl.stdout);
    assert.equal(plan.dry_run, true);
    assert.equal(plan.deleted_count, 0);
    assert.ok(
      plan.would_delete.length > 0 && plan.would_delete.every((r: Rec) => r.kind !== 'manual'),
      'manual backups are never removed by policy',
    );
    assert.ok(Number.isInteger(plan.total_size_freed) && plan.total_size_freed >= 0);
    assert.ok(plan.decisions.some((d: { reasons: string[] }) => d.reasons.some((r) => /safety floor/.test(r))));
    assert.equal(await count(), 10, 'a dry run removes nothing');

    // dump: the plain artifact
    const dump = await cli(['dump', 'latest', '--source', 'app', '--gzip']);
    assert.equal(dump.code, 0, dump.stderr);
    const gz = await readFile(path.join(dir, 'app.db.gz'));
    assert.deepEqual(gunzipSync(gz).subarray(0, 16), Buffer.from('SQLite format 3\0', 'latin1'));
    const z = await cli(['dump', 'latest', '--source', 'app', '--zstd', '--output', 'copy.zst', '--json']);
    assert.equal(z.code, 0, z.stderr);
    assert.equal(JSON.parse(z.stdout).filename, 'copy.zst');
    assert.deepEqual(decompress(await readFile(path.join(dir, 'copy.zst'))), gunzipSync(gz));
    const again = await cli(['dump', 'latest', '--source', 'app', '--gzip']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; nothing was written/);
  });
});
