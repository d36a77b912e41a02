/** The library API on a real project, in-process: typed results, events in order, protection, restore with a safety snapshot. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { type HoardEvents, isHoardError, openHoard } from '../../src/index.js';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

describe('openHoard', () => {
  it('backs up, lists, restores and cleans up a project, emitting typed events', async (t) => {
    const dir = await tempDir(t, 'hoard-lib-api-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    await writeFile(path.join(dir, 'notes.txt'), 'v1\n');
    assert.equal(
      (await hoard(['init', '--yes', '--no-backup', '--files', 'notes.txt'], { cwd: dir, env: CLEAN_ENV })).code,
      0,
    );
    const vars = { ...process.env, ...CLEAN_ENV };
    const h = await openHoard({ cwd: dir, vars });
    assert.equal(h.configFile, path.join(dir, 'hoard.yaml'));
    assert.deepEqual(h.sources, ['app', 'files']);
    const seen: string[] = [];
    for (const e of [
      'backup.started',
      'backup.created',
      'backup.failed',
      'restore.started',
      'restore.completed',
      'cleanup.completed',
    ] as (keyof HoardEvents)[]) {
      h.on(e, (v) => seen.push(`${e}:${(v as { source?: string }).source ?? ''}`));
    }
    const off = h.on('progress', () => {});
    off();

    const first = await h.backup({ label: 'one', reason: 'library test' });
    assert.deepEqual(
      first.created.map((r) => [r.source, r.label, r.reason, r.kind]),
      [
        ['app', 'one', 'library test', 'manual'],
        ['files', 'one', 'library test', 'manual'],
      ],
    );
    assert.deepEqual(first.failed, []);
    assert.deepEqual(seen.splice(0), [
      'backup.started:app',
      'backup.created:app',
      'backup.started:files',
      'backup.created:files',
    ]);
    const daily = await h.backup({ sources: ['daily'] });
    assert.ok(daily.created.every((r) => r.kind === 'daily' && r.retention_days === 30 && r.expires_at));
    seen.splice(0);

    assert.equal((await h.list()).length, 4);
    assert.equal((await h.list({ source: 'app', kind: 'daily' })).length, 1);
    assert.equal((await h.info(first.created[0].short_id)).label, 'one');
    const st = await h.status();
    assert.deepEqual(
      st.sources.map((s) => [s.source, s.snapshots]),
      [
        ['app', 2],
        ['files', 2],
      ],
    );

    // restore the database over changed data: a pre-restore snapshot first
    const db = new Database(path.join(dir, 'app.db'));
    db.exec('DELETE FROM orders');
    db.close();
    const dry = await h.restore({ latest: true, source: 'app', dryRun: true });
    assert.equal(dry.dry_run, true);
    const done = await h.restore({ latest: true, source: 'app' });
    assert.match(done.pre_restore_snapshot_id ?? '', /^[0-9a-f]{64}$/);
    const back = new Database(path.join(dir, 'app.db'), { readonly: true });
    assert.equal((back.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n, 1000);
    back.close();
    assert.deepEqual(seen.splice(0), ['restore.started:', 'restore.completed:']);

    // files into a folder
    const out = path.join(dir, 'out');
    const files = await h.restore({ latest: true, source: 'files', target: out });
    assert.equal(files.files, 1);
    assert.equal(await readFile(path.join(out, 'notes.txt'), 'utf8'), 'v1\n');

    // production is protected: confirm is required
    const prod = await openHoard({ cwd: dir, vars, environment: 'production' });
    await prod.backup({ sources: ['app'], kind: 'daily' });
    await assert.rejects(
      prod.restore({ latest: true, source: 'app' }),
      (e) => isHoardError(e, 'usage') && /the production environment is protected; nothing was changed/.test(e.message),
    );
    const prodRecord = (await prod.list({ environment: 'production' }))[0];
    await assert.rejects(prod.delete(prodRecord.id), /refusing to delete backup/);
    assert.equal((await prod.restore({ latest: true, source: 'app', confirm: true })).dry_run, false);

    const verified: boolean[] = [];
    h.on('verify.succeeded', (e) => verified.push(e.result.ok));
    const [drill] = await h.verify({ latest: true, source: 'app', level: 'drill' });
    assert.equal(drill.ok, true, drill.message);
    assert.ok(drill.checks.some((c) => c.name === 'integrity_check' && c.ok));
    assert.deepEqual(verified, [true]);
    assert.equal((await h.info(drill.backup.id)).verification?.level, 'drill');
    const plan = await h.cleanup({ olderThanMs: 1, dryRun: true, allowEmpty: true });
    assert.equal(plan.dry_run, true);
    assert.ok(plan.remove.length > 0);
    const before = (await h.list()).length;
    const gone = await h.delete(first.created[1].id);
    assert.equal(gone.source, 'files');
    assert.equal((await h.list()).length, before - 1);
    await assert.rejects(h.info('ffffffffff'), (e) => isHoardError(e, 'not-found'));
  });
});
