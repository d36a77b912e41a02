/**
 * Notifications from hoard.yaml's `notifications:`: each channel receives the events it asks for
 * (`on`: event names such as backup.failed, patterns such as backup.* or *, default every event)
 * in the environments it names (default all). URLs and SMTP addresses are secret references,
 * resolved when the notifier is built. Delivery never fails the work it reports on: a failing
 * channel is retried and then logged.
 */
import * as os from 'node:os';
import { type ChannelSpec, type Delivery, type NotifyEvent, deliver } from '../notify/channels.js';
import { type Project, projectSecret } from './project.js';

export type { NotifyEvent, Delivery };

export interface Notifier {
  /** Sends to every matching channel; resolves when all have been tried. */
  notify(e: NotifyEvent): Promise<Delivery[]>;
}

const matches = (pattern: string, event: string) =>
  pattern === '*' || pattern === event || (pattern.endsWith('.*') && event.startsWith(pattern.slice(0, -1)));

/** Builds the project's notifier; kind "config" (naming the line) when a channel's secret is missing. */
export async function createNotifier(
  p: Project,
  o: { retryDelaysMs?: number[]; log?(line: string): void } = {},
): Promise<Notifier> {
  const channels: { spec: ChannelSpec; on: string[]; environments?: string[] }[] = [];
  for (const [i, c] of (p.config.notifications ?? []).entries()) {
    const spec: ChannelSpec =
      c.type === 'email'
        ? {
            type: 'email',
            smtp: await projectSecret(p, c.smtp, ['notifications', i, 'smtp']),
            to: Array.isArray(c.to) ? c.to : [c.to],
            from: c.from ?? `hoard@${os.hostname()}`,
          }
        : { type: c.type, url: await projectSecret(p, c.url, ['notifications', i, 'url']) };
    channels.push({ spec, on: c.on ?? ['*'], environments: c.environments });
  }
  return {
    async notify(e) {
      const chosen = channels.filter(
        (c) =>
          c.on.some((pat) => matches(pat, e.event)) &&
          (!c.environments || (e.environment !== null && c.environments.includes(e.environment))),
      );
      const out = await Promise.all(chosen.map((c) => deliver(c.spec, e, o.retryDelaysMs)));
      for (const d of out)
        if (!d.ok) o.log?.(`notification to ${d.channel} failed after ${d.attempts} attempts: ${d.error}`);
      return out;
    },
  };
}
