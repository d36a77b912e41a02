/**
 * Notification channels: a generic webhook (a documented JSON body), a Slack-compatible webhook,
 * email over SMTP, and healthchecks-style pings (…/start, the URL itself on success, …/fail).
 * Every message goes through redact(); a channel is named by its URL's scheme and host only (a
 * Slack or Discord webhook's path is its secret). Delivery is retried (3 attempts, 1 s then 5 s
 * apart); a channel that still fails is reported to the caller, never thrown at the work it
 * reports on.
 */
import { redact, urlOrigin } from '../core/index.js';

/** The event a notification reports (the webhook's JSON body, documented in docs/scheduler.md). */
export interface NotifyEvent {
  /** e.g. backup.started, backup.succeeded, backup.failed, verify.failed, cleanup.succeeded */
  event: string;
  task: string;
  trigger: string;
  environment: string | null;
  status: 'started' | 'succeeded' | 'failed';
  snapshot_ids: string[];
  bytes: number;
  error: string | null;
  hostname: string;
  at: string;
  hoard_version: string;
}

export type ChannelSpec =
  | { type: 'webhook' | 'slack' | 'healthchecks'; url: string }
  | { type: 'email'; smtp: string; to: string[]; from: string };

export interface Delivery {
  channel: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

function text(e: NotifyEvent): string {
  const what = `${e.task} (${e.trigger}) ${e.status}${e.environment ? ` in ${e.environment}` : ''} on ${e.hostname}`;
  const detail =
    e.status === 'failed'
      ? `: ${e.error}`
      : e.snapshot_ids.length
        ? `: snapshot ${e.snapshot_ids.map((x) => x.slice(0, 8)).join(', ')}`
        : '';
  return redact(`hoard: ${what}${detail}`);
}

async function post(url: string, body: unknown): Promise<void> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
}

async function sendOnce(c: ChannelSpec, e: NotifyEvent): Promise<void> {
  const safe: NotifyEvent = { ...e, error: e.error === null ? null : redact(e.error) };
  switch (c.type) {
    case 'webhook':
      return post(c.url, safe);
    case 'slack':
      return post(c.url, { text: text(e) });
    case 'healthchecks': {
      const url =
        c.url.replace(/\/+$/, '') + (e.status === 'started' ? '/start' : e.status === 'failed' ? '/fail' : '');
      const r = await fetch(url, {
        method: 'POST',
        body: e.status === 'failed' ? (safe.error ?? '') : '',
        signal: AbortSignal.timeout(10_000),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return;
    }
    case 'email': {
      // loaded when an email is sent: other commands do not pay for the module
      const { default: nodemailer } = await import('nodemailer');
      const transport = nodemailer.createTransport(c.smtp, {
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
      } as never);
      try {
        await transport.sendMail({
          from: c.from,
          to: c.to,
          subject: `hoard: ${e.task} ${e.status}${e.environment ? ` (${e.environment})` : ''} on ${e.hostname}`,
          text: `${text(e)}\n\n${JSON.stringify(safe, null, 2)}\n`,
        });
      } finally {
        transport.close();
      }
    }
  }
}

/** How a channel is named in logs and delivery records: never its path, query or credentials. */
const label = (c: ChannelSpec) =>
  c.type === 'email' ? `email to ${c.to.join(', ')}` : `${c.type} ${urlOrigin(c.url)}`;

/** A delivery error as recorded: the channel's URL (which fetch may quote whole) shown as its label, then redacted. */
function failure(c: ChannelSpec, err: unknown): string {
  let m = (err as Error)?.message ?? String(err);
  if (c.type !== 'email') {
    const urls = [c.url];
    try {
      urls.push(new URL(c.url).href);
    } catch {
      /* not a URL: fetch quotes it as given */
    }
    for (const u of urls.sort((a, b) => b.length - a.length)) m = m.split(u).join(urlOrigin(c.url));
  }
  return redact(m);
}

/** Delivers one event to one channel with retries; never throws. */
export async function deliver(c: ChannelSpec, e: NotifyEvent, delaysMs: number[] = [1000, 5000]): Promise<Delivery> {
  let last = '';
  for (let attempt = 1; attempt <= delaysMs.length + 1; attempt++) {
    try {
      await sendOnce(c, e);
      return { channel: label(c), ok: true, attempts: attempt };
    } catch (err) {
      last = failure(c, err);
      if (attempt <= delaysMs.length) await new Promise((r) => setTimeout(r, delaysMs[attempt - 1]));
    }
  }
  return { channel: label(c), ok: false, attempts: delaysMs.length + 1, error: last };
}
