/**
 * The archive's state where operators look: `hoard status` (and so GET /status and /metrics) shows
 * the newest archived WAL, the lag and whether the RPO holds; the scheduler's archive watch sends
 * archive.failed once when archiving falls behind the RPO (not on every failing check) and
 * archive.succeeded once it has caught up.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { needServer, startCluster } from '../helpers/pg-cluster.js';
import { webhookSink } from '../helpers/webhook.js';
import { metricsText } from '../../src/server/routes/status.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { responseChecker } from '../helpers/openapi.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('status and metrics show the archive lag; the watch notifies when it falls behind the RPO and when it catches up', {
  timeout: 300_000,
}, async (t) => {
  if (!needServer(t)) return;
  const { port, got } = await webhookSink(t);
  const c = await startCluster(t, { pitr: '{ rpo: 6s }' });
  await fs.appendFile(
    c.config,
    `notifications:\n  - { type: webhook, url: "http://127.0.0.1:${port}/hook", on: [archive.*] }\n`,
  );
  const base = await c.hoard(['wal', 'base']);
  assert.equal(base.code, 0, base.stderr);
  await c.sql('CREATE TABLE t (id serial)');
  await c.switchAndWait();

  const status = async () => JSON.parse((await c.hoard(['status', '--json'])).stdout);
  let s = await status();
  let pg = s.sources.find((x: { source: string }) => x.source === 'pg');
  assert.equal(pg.pitr.rpo_ms, 6000);
  assert.equal(pg.pitr.base_backups.length, 1);
  assert.deepEqual(pg.pitr.gaps, []);

  const d = startDaemon(c.dir, { HOME: c.dir, HOARD_CONFIG: c.config });
  t.after(() => d.stop());
  const events = () => got.map((g) => JSON.parse(g.body) as { event: string; task: string; error: string | null });
  // nothing is written: the newest archived WAL ages past the RPO
  for (let i = 0; i < 200 && !events().some((e) => e.event === 'archive.failed'); i++) await wait(100);
  const failed = events().find((e) => e.event === 'archive.failed');
  assert.ok(failed, `archive.failed was sent: ${d.log()}`);
  assert.equal(failed.task, 'archive:pg');
  assert.match(failed.error ?? '', /more than the RPO of 6 s/);
  s = await status();
  pg = s.sources.find((x: { source: string }) => x.source === 'pg');
  assert.equal(pg.pitr.rpo_met, false);
  assert.ok(s.warnings.some((w: string) => /more than the RPO/.test(w)));
  // the same report is GET /status's body: it matches the published document
  const checker = await responseChecker(openApiDocument('test'));
  checker.check({
    method: 'GET',
    path: '/status',
    status: 200,
    contentType: 'application/json',
    body: { status: 'success', ...s },
  });
  const metrics = metricsText(s, Date.now());
  assert.match(metrics, /hoard_pitr_rpo_met\{source="pg",type="postgres",environment=""\} 0/);
  assert.match(metrics, /hoard_pitr_archive_lag_seconds\{source="pg"[^}]*\} \d/);

  // archiving resumes: one archive.succeeded, and the failure was sent once, not per check
  await wait(4000); // several failing checks (3 s apart) meanwhile
  await c.sql('INSERT INTO t DEFAULT VALUES');
  await c.switchAndWait();
  for (let i = 0; i < 200 && !events().some((e) => e.event === 'archive.succeeded'); i++) await wait(100);
  assert.deepEqual(
    events().map((e) => e.event),
    ['archive.failed', 'archive.succeeded'],
  );
  assert.equal(metricsText(await status(), Date.now()).match(/hoard_pitr_rpo_met\{[^}]*\} 1/)?.length, 1);
});
