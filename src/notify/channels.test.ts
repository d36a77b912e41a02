import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type NotifyEvent, deliver } from './channels.js';

const EVENT: NotifyEvent = {
  event: 'backup.failed',
  task: 'nightly',
  trigger: 'schedule',
  environment: null,
  status: 'failed',
  snapshot_ids: [],
  bytes: 0,
  error: 'cannot connect to postgres://app:dbsecret@db/shop (PGPASSWORD=pgsecret)',
  hostname: 'h',
  at: '2026-01-01T00:00:00.000Z',
  hoard_version: 'hoard 0',
};

describe('deliver', () => {
  it('names a failing webhook by scheme and host only, and sends no secret of the error', async (t) => {
    const bodies: string[] = [];
    const http = createServer((req, res) => {
      let b = '';
      req.on('data', (d) => {
        b += d;
      });
      req.on('end', () => {
        bodies.push(b);
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    t.after(() => http.close());
    const origin = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    for (const [type, url] of [
      ['slack', `${origin}/services/T0001/B0001/SlackPathSecret`],
      ['webhook', `${origin}/api/webhooks/123/DiscordPathSecret?token=QuerySecret`],
      ['healthchecks', `${origin}/ping/HealthchecksUuidSecret`],
    ] as const) {
      const d = await deliver({ type, url }, EVENT, [0, 0]);
      assert.equal(d.ok, false);
      assert.equal(d.attempts, 3);
      assert.deepEqual(d, { channel: `${type} ${origin}`, ok: false, attempts: 3, error: 'HTTP 500' });
    }
    assert.equal(bodies.length, 9);
    for (const b of bodies) assert.ok(!/dbsecret|pgsecret/.test(b), b);
  });

  it('an unreachable channel is named the same way', async () => {
    const d = await deliver(
      { type: 'slack', url: 'http://user:pw@127.0.0.1:1/services/T/B/SlackPathSecret' },
      EVENT,
      [0],
    );
    assert.equal(d.channel, 'slack http://127.0.0.1:1');
    assert.ok(!JSON.stringify(d).includes('Secret') && !JSON.stringify(d).includes('pw'), JSON.stringify(d));
  });
});
