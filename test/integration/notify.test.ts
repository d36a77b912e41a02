/**
 * Notifications from the real scheduler, received by a real HTTP server in the test and a real SMTP
 * server process on loopback: the documented webhook body, Slack's text, an email, healthchecks
 * pings; a failing job notifies with its reason and keeps its schedule; secrets never appear; an
 * unreachable SMTP server is logged and changes nothing else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

const SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'smtp-sink.js');
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notifications', () => {
  it('webhook, Slack, email and healthchecks receive the documented messages; failures carry the reason, never a secret', async (t) => {
    const got: { path: string; body: string }[] = [];
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { got.push({ path: req.url ?? '', body }); res.end('ok'); });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    t.after(() => http.close());
    const port = (http.address() as { port: number }).port;
    const smtp = spawn(process.execPath, [SINK, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => smtp.kill('SIGTERM'));
    let smtpOut = '';
    smtp.stdout!.on('data', (d) => { smtpOut += d; });
    for (let i = 0; i < 100 && !/port \d+/.test(smtpOut); i++) await wait(50);
    const smtpPort = Number(/port (\d+)/.exec(smtpOut)![1]);

    const dir = await tempDir(t, 'hoard-notify-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal((await hoard(['init', '--yes', '--no-backup', '--schedule', 'weekly on sunday at 03:00'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const yaml = (await readFile(path.join(dir, 'hoard.yaml'), 'utf8')).replace('sources:\n', 'sources:\n  shop: { type: postgres, url: "env:SHOP_URL" }\n');
    await writeFile(path.join(dir, 'hoard.yaml'), yaml);
    await appendFile(path.join(dir, 'hoard.yaml'), `  fast:
    sources: [app]
    schedule: every 2 seconds
  broken:
    sources: [shop]
    schedule: every 3 seconds
notifications:
  - { type: webhook, url: "http://127.0.0.1:${port}/hook", on: [backup.*] }
  - { type: slack, url: "http://127.0.0.1:${port}/slack", on: [backup.failed] }
  - { type: email, smtp: "smtp://127.0.0.1:${smtpPort}", to: ops@example.com, from: hoard@example.com, on: [backup.failed] }
  - { type: email, smtp: "smtp://127.0.0.1:1", to: nobody@example.com, on: [backup.failed] }
  - { type: healthchecks, url: "http://127.0.0.1:${port}/hc/abc" }
`);
    const env = { ...process.env, ...CLEAN_ENV, SHOP_URL: 'postgres://shopuser:supersecret@127.0.0.1:1/shop', HOARD_SCHEDULER_RETRY_MS: '60000' };
    const d = spawn(process.execPath, [CLI, 'scheduler', 'start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    d.stdout!.on('data', (x) => { log += x; });
    d.stderr!.on('data', (x) => { log += x; });
    t.after(() => d.kill('SIGKILL'));
    const events = () => got.filter((g) => g.path === '/hook').map((g) => JSON.parse(g.body));
    for (let i = 0; i < 300; i++) {
      await wait(100);
      const e = events();
      if (e.filter((x) => x.task === 'broken' && x.status === 'failed').length >= 2 && e.filter((x) => x.task === 'fast' && x.status === 'succeeded').length >= 2
        && smtpOut.includes('ops@example.com') && /notification to email to nobody@example.com failed/.test(log)) break;
    }
    d.kill('SIGTERM');
    await new Promise((r) => d.on('exit', r));

    const e = events();
    const ok = e.find((x) => x.task === 'fast' && x.status === 'succeeded');
    assert.ok(ok, JSON.stringify(e));
    assert.deepEqual(Object.keys(ok).sort(), ['at', 'bytes', 'environment', 'error', 'event', 'hoard_version', 'hostname', 'snapshot_ids', 'status', 'task', 'trigger'].sort());
    assert.equal(ok.event, 'backup.succeeded');
    assert.match(ok.snapshot_ids[0], /^[0-9a-f]{64}$/);
    assert.ok(e.some((x) => x.task === 'fast' && x.event === 'backup.started'));
    const failed = e.filter((x) => x.task === 'broken' && x.status === 'failed');
    assert.ok(failed.length >= 2, 'the next scheduled run still happens after a failure (its retry is a minute away)');
    assert.ok(failed.every((x) => x.trigger === 'schedule'));
    assert.match(failed[0].error, /shop: /);
    assert.ok(e.filter((x) => x.task === 'fast' && x.status === 'succeeded').length >= 2, 'the other job keeps running');
    const slack = got.filter((g) => g.path === '/slack').map((g) => JSON.parse(g.body));
    assert.equal(slack.length, failed.length, 'Slack hears failures only, one per failed run');
    assert.match(slack[0].text, /^hoard: broken \(schedule\) failed .*: shop: /);
    assert.ok(got.some((g) => g.path === '/hc/abc/start') && got.some((g) => g.path === '/hc/abc') && got.some((g) => g.path === '/hc/abc/fail'));
    const mail = smtpOut.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(mail.length >= 1);
    assert.deepEqual(mail[0].to, ['ops@example.com']);
    assert.match(mail[0].data, /Subject: hoard: broken failed \(dev\) on /);
    assert.match(mail[0].data, /"event": "backup.failed"/);
    assert.match(log, /notification to email to nobody@example.com failed after 3 attempts/);
    const everything = JSON.stringify(got) + smtpOut + log;
    assert.ok(!everything.includes('supersecret'), 'the database password appears in no message or log');
  });
});
