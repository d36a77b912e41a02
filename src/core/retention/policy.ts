/**
 * Retention as a pure function of (snapshots, policy, now): keep or remove, with every reason.
 * Order of precedence, per snapshot:
 *   1. kept whatever else says: pinned; the newest snapshot of its group (the safety floor); kind
 *      `manual` (never removed by policy); a pre-change snapshot awaiting confirmation;
 *   2. kept by restic's GFS rules (keep-last/-hourly/-daily/-weekly/-monthly/-yearly/-within/-tag,
 *      per group, newest first, one snapshot per time bucket in the policy's time zone);
 *   3. removed when past its expiry (with `expired`), older than `olderThanDays`, or, when GFS rules
 *      are given, matched by none of them (restic's forget semantics);
 *   4. otherwise kept (its future expiry, if any, is the reason shown).
 */
import { HoardError } from '../errors.js';

/** What the policy needs to know of a snapshot. */
export interface RetentionItem {
  id: string;
  timeMs: number;
  hostname: string;
  paths: string[];
  tags: string[];
  kind: string;
  /** hoard.yaml source name, when the snapshot has one. */
  source?: string | null;
  pinned?: boolean;
  /** Epoch ms when the snapshot expires (from its retention), or null/undefined when it does not. */
  expiresMs?: number | null;
  /** Why the snapshot waits (a pre-change backup not yet confirmed): kept whatever else says. */
  awaiting?: string;
}

export interface GfsRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep snapshots newer than the group's newest minus this calendar span (restic's --keep-within 1y2m3d4h). */
  within?: Span;
  /** Keep snapshots that carry any of these tags. */
  tags?: string[];
}

/** A calendar span: years and months are calendar units, as Go's AddDate counts them. */
export interface Span {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** A span's rough length in ms (a year 365 d, a month 30 d), for comparisons between rules. */
export function spanMs(s: Span): number {
  return ((s.years * 365 + s.months * 30 + s.days) * 24 + s.hours) * 3_600_000;
}

/** `ms` minus a calendar span, in UTC. */
function minusSpan(ms: number, s: Span): number {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() - s.years, d.getUTCMonth() - s.months, d.getUTCDate() - s.days);
  return d.getTime() - s.hours * 3_600_000;
}

export type GroupKey = 'source' | 'host' | 'paths' | 'tags';

export interface RetentionPolicy {
  gfs?: GfsRules;
  /** Remove snapshots whose expiry has passed. */
  expired?: boolean;
  /** Remove snapshots older than this many ms. */
  olderThanMs?: number;
  /** How snapshots are grouped for GFS and the floor (default: source, else host + paths). */
  groupBy?: GroupKey[];
  /** IANA time zone for day/week/month buckets (default UTC). */
  timeZone?: string;
}

export interface RetentionDecision {
  id: string;
  group: string;
  keep: boolean;
  reasons: string[];
  /** Kept only by the safety floor: the rules themselves would remove it. */
  floorOnly?: boolean;
}

const GFS_ORDER = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** Validates a policy; kind "usage" naming what is wrong. */
export function checkPolicy(p: RetentionPolicy): void {
  for (const k of GFS_ORDER) {
    const v = p.gfs?.[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new HoardError('usage', `keep-${k} must be a whole number of 1 or more, not ${v}`, {
        hint: 'leave the rule out to keep none by it',
      });
  }
  if (p.gfs?.within !== undefined && !(spanMs(p.gfs.within) > 0))
    throw new HoardError('usage', 'keep-within must be a positive duration', { hint: 'e.g. --keep-within 30d' });
  if (p.olderThanMs !== undefined && !(p.olderThanMs > 0))
    throw new HoardError('usage', 'older-than must be a positive age, not zero', {
      hint: 'e.g. --older-than 30 (days) or --older-than 12h',
    });
  if (p.olderThanMs !== undefined && p.gfs?.within !== undefined && spanMs(p.gfs.within) > p.olderThanMs) {
    throw new HoardError('usage', 'contradictory rules: --older-than removes what --keep-within keeps', {
      hint: 'use one of them, or make keep-within shorter than older-than',
    });
  }
  if (p.timeZone) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: p.timeZone });
    } catch {
      throw new HoardError('usage', `unknown time zone ${p.timeZone}`, {
        hint: 'use an IANA name such as Europe/Paris or UTC',
      });
    }
  }
}

function groupOf(s: RetentionItem, by: GroupKey[] | undefined): string {
  if (!by) return s.source ? `source:${s.source}` : `host:${s.hostname} paths:${[...s.paths].sort().join(',')}`;
  return by
    .map((k) =>
      k === 'source'
        ? `source:${s.source ?? ''}`
        : k === 'host'
          ? `host:${s.hostname}`
          : k === 'paths'
            ? `paths:${[...s.paths].sort().join(',')}`
            : `tags:${[...s.tags].sort().join(',')}`,
    )
    .join(' ');
}

/** Calendar parts of a time in a zone. */
function parts(ms: number, timeZone: string): { y: number; m: number; d: number; h: number } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
  });
  const o = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { y: Number(o.year), m: Number(o.month), d: Number(o.day), h: Number(o.hour) };
}

/** ISO 8601 week "YYYY-Www" of a calendar date. */
function isoWeek(y: number, m: number, d: number): string {
  const t = new Date(Date.UTC(y, m - 1, d));
  const day = (t.getUTCDay() + 6) % 7; // Monday = 0
  t.setUTCDate(t.getUTCDate() - day + 3); // the Thursday of this week decides the year
  const year = t.getUTCFullYear();
  const first = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round(((t.getTime() - first.getTime()) / 86_400_000 - 3 + ((first.getUTCDay() + 6) % 7)) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function bucket(rule: (typeof GFS_ORDER)[number], ms: number, id: string, tz: string): string {
  if (rule === 'last') return id;
  const p = parts(ms, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  switch (rule) {
    case 'hourly':
      return `${p.y}-${two(p.m)}-${two(p.d)} ${two(p.h)}h`;
    case 'daily':
      return `${p.y}-${two(p.m)}-${two(p.d)}`;
    case 'weekly':
      return isoWeek(p.y, p.m, p.d);
    case 'monthly':
      return `${p.y}-${two(p.m)}`;
    default:
      return String(p.y);
  }
}

function age(ms: number): string {
  return ms % 86_400_000 === 0
    ? `${ms / 86_400_000} d`
    : ms % 3_600_000 === 0
      ? `${ms / 3_600_000} h`
      : ms % 60_000 === 0
        ? `${ms / 60_000} min`
        : `${ms / 1000} s`;
}

/** Decides every snapshot; checkPolicy first. Output in input order. */
export function applyPolicy(items: RetentionItem[], p: RetentionPolicy, nowMs: number): RetentionDecision[] {
  checkPolicy(p);
  const tz = p.timeZone ?? 'UTC';
  const hard = new Map<string, string[]>();
  const keep = new Map<string, string[]>(); // GFS
  const soft = new Map<string, string[]>(); // not yet expired
  const remove = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, id: string, r: string) => m.set(id, [...(m.get(id) ?? []), r]);
  const groups = new Map<string, RetentionItem[]>();
  for (const s of items) {
    const g = groupOf(s, p.groupBy);
    groups.set(g, [...(groups.get(g) ?? []), s]);
  }
  for (const [g, list] of groups) {
    const newestFirst = [...list].sort((a, b) => b.timeMs - a.timeMs || (a.id < b.id ? 1 : -1));
    add(hard, newestFirst[0].id, `newest of ${g} (safety floor)`);
    const rules = p.gfs;
    if (!rules) continue;
    for (const rule of GFS_ORDER) {
      let left = rules[rule];
      if (!left) continue;
      const total = left;
      let last: string | undefined;
      for (const s of newestFirst) {
        const b = bucket(rule, s.timeMs, s.id, tz);
        if (b === last) continue;
        last = b;
        add(keep, s.id, `keep-${rule} ${total - left + 1}/${total}${rule === 'last' ? '' : ` (${b})`}`);
        if (--left === 0) break;
      }
    }
    if (rules.within !== undefined) {
      const from = minusSpan(newestFirst[0].timeMs, rules.within);
      for (const s of newestFirst) if (s.timeMs > from) add(keep, s.id, 'keep-within');
    }
    for (const s of newestFirst) {
      const t = rules.tags?.find((x) => s.tags.includes(x));
      if (t) add(keep, s.id, `keep-tag ${t}`);
    }
    for (const s of newestFirst) if (!keep.has(s.id)) add(remove, s.id, 'matched no keep rule');
  }
  for (const s of items) {
    if (s.pinned) add(hard, s.id, 'pinned');
    if (s.kind === 'manual') add(hard, s.id, 'manual (never removed by policy)');
    if (s.awaiting) add(hard, s.id, s.awaiting);
    if (s.expiresMs != null) {
      const when = new Date(s.expiresMs).toISOString().slice(0, 10);
      if (p.expired && s.expiresMs <= nowMs) add(remove, s.id, `expired ${when}`);
      else if (s.expiresMs > nowMs) add(soft, s.id, `expires ${when}`);
    }
    if (p.olderThanMs !== undefined && s.timeMs < nowMs - p.olderThanMs)
      add(remove, s.id, `older than ${age(p.olderThanMs)}`);
  }
  return items.map((s) => {
    const group = groupOf(s, p.groupBy);
    const h = hard.get(s.id) ?? [];
    const kept = [...h, ...(keep.get(s.id) ?? [])];
    if (kept.length) {
      const floorOnly = kept.length === 1 && h.length === 1 && h[0].endsWith('(safety floor)') && remove.has(s.id);
      return {
        id: s.id,
        group,
        keep: true,
        reasons: [
          ...kept,
          ...(soft.get(s.id) ?? []),
          ...(floorOnly ? remove.get(s.id)!.map((r) => `(the rules alone: ${r})`) : []),
        ],
        ...(floorOnly ? { floorOnly } : {}),
      };
    }
    const r = remove.get(s.id);
    if (r) return { id: s.id, group, keep: false, reasons: r };
    return { id: s.id, group, keep: true, reasons: soft.get(s.id) ?? ['no rule removes it'] };
  });
}
