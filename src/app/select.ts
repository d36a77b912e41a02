/**
 * Choosing snapshots the way users name them: a full id, a unique prefix, `latest`, a label,
 * `--name LABEL`, `--at TIME` (the newest not after TIME), narrowed by source and host; and the
 * list filters (kind, age, environment, source). Pure functions of the snapshot list and `now`.
 * Errors: kind "not-found" when nothing matches, "usage" when the reference is ambiguous.
 */
import { HoardError, type SnapshotEntry } from '../core/index.js';
import { toRecord } from './snapshot-view.js';

export interface BackupQuery {
  kind?: string;
  /** Only snapshots from the last N days. */
  days?: number;
  environment?: string;
  source?: string;
  label?: string;
  host?: string;
}

/** Snapshots matching every given filter, oldest first. */
export function queryBackups(list: SnapshotEntry[], q: BackupQuery, nowMs: number): SnapshotEntry[] {
  return list.filter((e) => {
    const r = toRecord(e);
    return (
      (!q.kind || r.kind === q.kind) &&
      (!q.environment || r.environment === q.environment) &&
      (!q.source || r.source === q.source || r.tags.includes(`source:${q.source}`)) &&
      (q.label === undefined || r.label === q.label) &&
      (!q.host || r.hostname === q.host) &&
      (q.days === undefined || e.timeMs >= nowMs - q.days * 86_400_000)
    );
  });
}

export interface SnapshotChoice {
  /** An id, a unique id prefix, "latest" or a label. */
  ref?: string;
  latest?: boolean;
  /** A label (`--name`). */
  name?: string;
  /** The newest snapshot taken at or before this time (see parseTime). */
  at?: string;
  source?: string;
  host?: string;
  /** Only snapshots of this kind (the scheduled drill picks a point-in-time source's newest base backup). */
  kind?: string;
}

const short = (e: SnapshotEntry) => `${e.id.slice(0, 8)} (${e.snapshot.time.slice(0, 19).replace('T', ' ')})`;

/** Resolves a choice to one snapshot. */
export function chooseSnapshot(list: SnapshotEntry[], c: SnapshotChoice, nowMs: number): SnapshotEntry {
  const scope = queryBackups(list, { source: c.source, host: c.host, kind: c.kind }, nowMs);
  const where = c.source ? ` of source ${c.source}` : '';
  if (c.ref && c.ref !== 'latest') {
    if (c.latest || c.at || c.name)
      throw new HoardError('usage', `give either a snapshot id/label or --latest/--name/--at, not both`, {
        hint: 'e.g. hoard restore 1a2b3c4d or hoard restore --latest --source db',
      });
    const byId = /^[0-9a-f]{1,64}$/.test(c.ref) ? list.filter((e) => e.id.startsWith(c.ref!)) : [];
    if (byId.length > 1)
      throw new HoardError(
        'usage',
        `snapshot prefix ${c.ref} is ambiguous: ${byId.slice(0, 5).map(short).join(', ')}${byId.length > 5 ? ' …' : ''}`,
        { hint: 'give more characters of the id' },
      );
    if (byId.length === 1) return byId[0];
    return pickLabel(scope, c.ref, where);
  }
  let pool = scope;
  if (c.name !== undefined) {
    pool = pool.filter((e) => toRecord(e).label === c.name);
    if (!pool.length)
      throw new HoardError('not-found', `no snapshot${where} is labelled ${JSON.stringify(c.name)}`, {
        hint: 'see `hoard list` for labels',
      });
  }
  if (c.at !== undefined) {
    const t = parseTime(c.at, nowMs);
    const before = pool.filter((e) => e.timeMs <= t);
    if (!before.length) {
      const first = pool[0];
      throw new HoardError(
        'not-found',
        `no snapshot${where} was taken at or before ${new Date(t).toISOString()}${first ? `; the first is ${short(first)}` : ''}`,
        { hint: 'pick a later --at time (see `hoard list`)' },
      );
    }
    return before[before.length - 1];
  }
  if (c.name !== undefined && !c.latest && c.ref !== 'latest') return pickLabel(pool, c.name, where);
  if (!pool.length)
    throw new HoardError('not-found', `no snapshot${where} found`, {
      hint: c.source
        ? 'run `hoard backup` first, or check the source name in `hoard list`'
        : 'run `hoard backup` first',
    });
  return pool[pool.length - 1];
}

function pickLabel(pool: SnapshotEntry[], label: string, where: string): SnapshotEntry {
  const m = pool.filter((e) => toRecord(e).label === label);
  if (m.length === 0)
    throw new HoardError('not-found', `no snapshot${where} with id or label ${JSON.stringify(label)}`, {
      hint: 'see `hoard list` for ids and labels',
    });
  if (m.length > 1) {
    throw new HoardError(
      'usage',
      `the label ${label} is on ${m.length} snapshots: ${m.slice(-5).map(short).join(', ')}`,
      { hint: `give an id, or --name ${label} --latest for the newest` },
    );
  }
  return m[m.length - 1];
}

/**
 * Epoch ms of a time given as RFC 3339 / ISO 8601, "YYYY-MM-DD[ HH:MM[:SS]]" (local time), or
 * "N minutes|hours|days ago". Kind "usage" when it is none of these.
 */
export function parseTime(text: string, nowMs: number): number {
  const ago = /^(\d+)\s*(m|min|minutes?|h|hours?|d|days?)\s+ago$/i.exec(text.trim());
  if (ago) {
    const unit = ago[2][0].toLowerCase() === 'm' ? 60_000 : ago[2][0].toLowerCase() === 'h' ? 3_600_000 : 86_400_000;
    return nowMs - Number(ago[1]) * unit;
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (local) {
    const [, y, mo, d, h = '23', mi = '59', s = h === '23' && !local[4] ? '59' : '0'] = local;
    const dt = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), local[4] ? 0 : 999);
    if (!Number.isNaN(dt.getTime())) return dt.getTime();
  }
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new HoardError('usage', `cannot read the time ${JSON.stringify(text)}`, {
      hint: 'write 2026-11-20 14:30, 2026-11-20T14:30:00Z or "3 hours ago"',
    });
  }
  return t;
}
