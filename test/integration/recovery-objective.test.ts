/**
 * Recovery-time objectives: a PostgreSQL source with a 1-second objective whose restore takes
 * longer. The scheduler's drill passes (the backup is good) but records its restore time; the
 * configured webhook hears `rto.failed`, and status --json, GET /status and /metrics say the
 * objective was missed. Before its first drill, the source is a warning under verify.drill_max_age.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { PG_URL, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';
import { addServerSection, serve } from '../helpers/api.js';
import { startDaemon } from '../helpers/daemon.js';
import { webhookSink } from '../helpers/webhook.js';

type Metric = { name: string; metrics: { value: string; labels?: Record<string, string> }[] };
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (t: string) => Metric[];
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recovery time objectives', () => {
  it('a drill slower than a 1 s objective is notified and shown in status, /status and /metrics', async (t) => {
    if (!(await needPostgres(t))) return;
    const db = await pgDatabase(t);
    // about 2–3 s to restore on this machine: a million rows and their primary key
    await pgExec(
      db,
      'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000000) g; ALTER TABLE big ADD PRIMARY KEY (id);',
    );
    const { port, got } = await webhookSink(t);

    const dir = await tempDir(t, 'hoard-rto-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const file = path.join(dir, 'hoard.yaml');
    const yaml = (await readFile(file, 'utf8'))
      .replace('sources:\n', 'sources:\n  shop: { type: postgres, url: "env:SHOP_URL", recovery_time_objective: 1s }\n')
      .replace('    path: app.db\n', '    path: app.db\n    recovery_time_objective: 1h\n');
    assert.match(yaml, /recovery_time_objective: 1h/, yaml);
    await writeFile(file, yaml);
    await appendFile(
      file,
      `verify:
  drill: { schedule: every 2 seconds, sources: [shop] }
  drill_max_age: 1d
notifications:
  - { type: webhook, url: "http://127.0.0.1:${port}/hook", on: [rto.*] }
`,
    );
    const tokens = await addServerSection(dir, [['reader', 'read']]);
    const env = { ...CLEAN_ENV, SHOP_URL: `${PG_URL}/${db}` };
    const b = await hoard(['backup', 'shop'], { cwd: dir, env });
    assert.equal(b.code, 0, b.stderr);

    const before = JSON.parse((await hoard(['status', '--json'], { cwd: dir, env })).stdout);
    const undrilled = before.sources.find((s: { source: string }) => s.source === 'shop');
    assert.ok(
      undrilled.warnings.includes('shop has never been drilled (verify.drill_max_age is 1d)'),
      undrilled.warnings,
    );
    const d = startDaemon(dir, env);
    t.after(() => d.child.kill('SIGKILL'));
    const events = () => got.filter((g) => g.path === '/hook').map((g) => JSON.parse(g.body));
    for (let i = 0; i < 600 && !events().length; i++) await wait(100);
    await d.stop();
    const [e] = events();
    assert.ok(e, `no rto notification; scheduler log:\n${d.log()}`);
    assert.equal(e.event, 'rto.failed');
    assert.equal(e.task, 'verify:drill');
    assert.match(e.error, /^shop's last drill took \d+\.\d s to restore, over its recovery time objective of 1\.0 s$/);

    const status = JSON.parse((await hoard(['status', '--json'], { cwd: dir, env })).stdout);
    const shop = status.sources.find((s: { source: string }) => s.source === 'shop');
    assert.equal(shop.recovery.objective_ms, 1000);
    assert.equal(shop.recovery.met, false);
    assert.equal(shop.recovery.last_drill.ok, true, 'the drill itself passed: the backup is good, only slow');
    assert.ok(shop.recovery.last_drill.restore_ms > 1000);
    assert.ok(shop.recovery.last_drill.restore_bytes > 0);
    assert.ok(
      shop.warnings.some((w: string) => /over its recovery time objective of 1\.0 s/.test(w)),
      shop.warnings,
    );
    const app = status.sources.find((s: { source: string }) => s.source === 'app');
    assert.ok(!shop.warnings.some((w: string) => /never been drilled/.test(w)), 'drilled now');
    assert.ok(
      !app.warnings.some((w: string) => /drilled/.test(w)),
      'the scheduled drill does not cover app: no warning',
    );
    assert.equal(app.recovery.objective_ms, 3_600_000);

    const { base } = await serve(t, dir, [], env);
    const get = async (p: string) =>
      (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${tokens.reader.token}` } })).text();
    const api = JSON.parse(await get('/status')).sources.find((s: { source: string }) => s.source === 'shop');
    assert.equal(api.recovery.met, false);
    const metrics = parsePrometheus(await get('/metrics'));
    const value = (name: string, source: string) =>
      metrics.find((m) => m.name === name)?.metrics.find((m) => m.labels?.source === source)?.value;
    assert.equal(value('hoard_recovery_time_objective_met', 'shop'), '0');
    assert.equal(value('hoard_recovery_time_objective_seconds', 'shop'), '1');
    assert.ok(Number(value('hoard_drill_restore_seconds', 'shop')) > 1);
    assert.equal(value('hoard_recovery_time_objective_seconds', 'app'), '3600');
  });
});
