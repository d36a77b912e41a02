/**
 * Notifications from the real scheduler, received by a real HTTP server in the test and a real SMTP
 * server process on loopback: the documented webhook body, Slack's text, an email, healthchecks
 * pings; a failing job notifies with its reason and keeps its schedule; secrets never appear; an
 * unreachable SMTP server is logged and changes nothing else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { webhookSink } from '../helpers/webhook.js';

const SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'smtp-sink.js');
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notifications', () => {
  it('webhook, Slack, email and healthchecks receive the documented messages; failures carry the reason, never a secret', async (t) => {
    const { port, got } = await webhookSink(t);
    const smtp = spawn(process.execPath, [SINK, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => smtp.kill('SIGTERM'));
    let smtpOut = '';
    smtp.stdout!.on('data', (d) => {
      smtpOut += d;
    });
    for (let i = 0; i < 100 && !/port \d+/.test(smtpOut); i++) await wait(50);
    const smtpPort = Number(/port (\d+)/.exec(smtpOut)![1]);

    const dir = await tempDir(t, 'hoard-notify-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal(
      (
        await hoard(['init', '--yes', '--no-backup', '--schedule', 'weekly on sunday at 03:00'], {
          cwd: dir,
          env: CLEAN_ENV,
        })
      ).code,
      0,
    );
    const yaml = (await readFile(path.join(dir, 'hoard.yaml'), 'utf8')).replace(
      'sources:\n',
      'sources:\n  shop: { type: postgres, url: "env:SHOP_URL" }\n',
    );
    await writeFile(path.join(dir, 'hoard.yaml'), yaml);
    await appendFile(
      path.join(dir, 'hoard.yaml'),
      `  fast:
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
`,
    );
    const env = {
      ...process.env,
      ...CLEAN_ENV,
      SHOP_URL: 'postgres://shopuser:supersecret@127.0.0.1:1/shop',
      HOARD_SCHEDULER_RETRY_MS: '60000',
    };
    const d = spawn(process.execPath, [CLI, 'scheduler', 'start'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    d.stdout!.on('data', (x) => {
      log += x;
    });
    d.stderr!.on('data', (x) => {
      log += x;
    });
    t.after(() => d.kill('SIGKILL'));
    const events = () => got.filter((g) => g.path === '/hook').map((g) => JSON.parse(g.body));
    for (let i = 0; i < 300; i++) {
      await wait(100);
      const e = events();
      if (
        e.filter((x) => x.task === 'broken' && x.status === 'failed').length >= 2 &&
        e.filter((x) => x.task === 'fast' && x.status === 'succeeded').length >= 2 &&
        smtpOut.includes('ops@example.com') &&
        /notification to email to nobody@example.com failed/.test(log)
      )
        break;
    }
    d.kill('SIGTERM');
    await new Promise((r) => d.on('exit', r));

    const e = events();
    const ok = e.find((x) => x.task === 'fast' && x.status === 'succeeded');
    assert.ok(ok, JSON.stringify(e));
    assert.deepEqual(
      Object.keys(ok).sort(),
      [
        'at',
        'bytes',
        'environment',
        'error',
        'event',
        'hoard_version',
        'hostname',
        'snapshot_ids',
        'status',
        'task',
        'trigger',
      ].sort(),
    );
    assert.equal(ok.event, 'backup.succeeded');
    assert.match(ok.snapshot_ids[0], /^[0-9a-f]{64}$/);
    assert.ok(e.some((x) => x.task === 'fast' && x.event === 'backup.started'));
    const failed = e.filter((x) => x.task === 'broken' && x.status === 'failed');
    assert.ok(failed.length >= 2, 'the next scheduled run still happens after a failure (its retry is a minute away)');
    assert.ok(failed.every((x) => x.trigger === 'schedule'));
    assert.match(failed[0].error, /shop: /);
    assert.ok(
      e.filter((x) => x.task === 'fast' && x.status === 'succeeded').length >= 2,
      'the other job keeps running',
    );
    const slack = got.filter((g) => g.path === '/slack').map((g) => JSON.parse(g.body));
    assert.equal(slack.length, failed.length, 'Slack hears failures only, one per failed run');
    assert.match(slack[0].text, /^hoard: broken \(schedule\) failed .*: shop: /);
    assert.ok(
      got.some((g) => g.path === '/hc/abc/start') &&
        got.some((g) => g.path === '/hc/abc') &&
        got.some((g) => g.path === '/hc/abc/fail'),
    );
    const mail = smtpOut
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.ok(mail.length >= 1);
    assert.deepEqual(mail[0].to, ['ops@example.com']);
    assert.match(mail[0].data, /Subject: hoard: broken failed \(dev\) on /);
    assert.match(mail[0].data, /"event": "backup.failed"/);
    assert.match(log, /notification to email to nobody@example.com failed after 3 attempts/);
    const everything = JSON.stringify(got) + smtpOut + log;
    assert.ok(!everything.includes('supersecret'), 'the database password appears in no message or log');
  });

  it('a failing Slack-style webhook is logged by scheme and host: its secret path, and secrets in an error, appear in no log line, record or message', async (t) => {
    const { port, got } = await webhookSink(t, (p) => (p.startsWith('/services/') ? 500 : 200));
    const dir = await tempDir(t, 'hoard-notify-redact-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    assert.equal(
      (
        await hoard(['init', '--yes', '--no-backup', '--schedule', 'weekly on sunday at 03:00'], {
          cwd: dir,
          env: CLEAN_ENV,
        })
      ).code,
      0,
    );
    // the hook's command (and so the job's error) holds a password the old redaction did not know
    await appendFile(
      path.join(dir, 'hoard.yaml'),
      `  hooked:
    sources: [app]
    schedule: every 2 seconds
    hooks: { before: "PGPASSWORD=hooksecret MYSQL_PWD=mysqlsecret false" }
notifications:
  - { type: slack, url: "env:SLACK_URL", on: [backup.failed] }
  - { type: webhook, url: "http://127.0.0.1:${port}/hook", on: [backup.failed] }
`,
    );
    const env = {
      ...process.env,
      ...CLEAN_ENV,
      SLACK_URL: `http://127.0.0.1:${port}/services/T0001/B0001/SlackPathSecret`,
      HOARD_SCHEDULER_RETRY_MS: '60000',
    };
    const d = spawn(process.execPath, [CLI, 'scheduler', 'start'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    d.stdout!.on('data', (x) => {
      log += x;
    });
    d.stderr!.on('data', (x) => {
      log += x;
    });
    t.after(() => d.kill('SIGKILL'));
    for (let i = 0; i < 200 && !/notification to slack .* failed after 3 attempts/.test(log); i++) await wait(100);
    d.kill('SIGTERM');
    await new Promise((r) => d.on('exit', r));

    assert.match(
      log,
      new RegExp(`notification to slack http://127\\.0\\.0\\.1:${port} failed after 3 attempts: HTTP 500`),
    );
    assert.match(log, /hooked: FAILED: the before hook failed \(exit 1\): PGPASSWORD=\*\*\* MYSQL_PWD=\*\*\* false/);
    assert.ok(
      got.some((g) => g.path.startsWith('/services/')),
      'the Slack URL was tried',
    );
    const status = await hoard(['scheduler', 'status', '--json'], { cwd: dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /the before hook failed/);
    const everything =
      log +
      status.stdout +
      JSON.stringify(got.filter((g) => g.path === '/hook' || g.path.startsWith('/services/')).map((g) => g.body));
    for (const secret of ['SlackPathSecret', 'T0001', 'hooksecret', 'mysqlsecret'])
      assert.ok(!everything.includes(secret), `${secret} appears: ${everything}`);
  });
});
