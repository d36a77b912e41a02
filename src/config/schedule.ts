/**
 * Schedule strings of hoard.yaml and the one schedule engine every door uses (the scheduler, status,
 * /status, metrics): `daily at HH:MM`, `weekly on DAY at HH:MM`, `every N seconds|minutes|hours` and
 * five-field cron expressions (optionally prefixed `CRON_TZ=Zone`), parsed in one place, and when
 * each is next due in a time zone. Pure. Daily and weekly presets are cron expressions underneath.
 * Wall-clock rules across DST: a time that does not exist (the spring-forward gap) runs when the gap
 * ends; a time that happens twice (fall back) runs once, at its first occurrence. `every N` counts
 * from the last run.
 */
import { HoardError } from '../core/index.js';

export type Schedule =
  | { type: 'daily'; hour: number; minute: number }
  | { type: 'weekly'; day: number; hour: number; minute: number }
  | { type: 'every'; ms: number }
  | { type: 'cron'; expression: string; timeZone?: string };

export type ParsedSchedule = { ok: true; schedule: Schedule } | { ok: false; error: string };

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const HINT =
  'write "daily at 02:00", "weekly on sunday at 03:00", "every 6 hours" or a cron expression such as "0 2 * * *"';

function clock(h: string, m: string): { hour: number; minute: number } | undefined {
  const hour = Number(h),
    minute = Number(m);
  return hour <= 23 && minute <= 59 ? { hour, minute } : undefined;
}

/** Parses a schedule string; never throws. */
export function parseSchedule(text: string): ParsedSchedule {
  const s = text.trim().toLowerCase().replace(/\s+/g, ' ');
  let m = /^daily at (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const c = clock(m[1], m[2]);
    return c
      ? { ok: true, schedule: { type: 'daily', ...c } }
      : { ok: false, error: `${text}: the time must be between 00:00 and 23:59` };
  }
  m = /^weekly on ([a-z]+) at (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const day = DAYS.findIndex((d) => d === m![1] || d.slice(0, 3) === m![1]);
    if (day < 0) return { ok: false, error: `${text}: unknown day ${m[1]} (write monday … sunday)` };
    const c = clock(m[2], m[3]);
    return c
      ? { ok: true, schedule: { type: 'weekly', day, ...c } }
      : { ok: false, error: `${text}: the time must be between 00:00 and 23:59` };
  }
  m = /^every (\d{1,4}) (second|seconds|minute|minutes|hour|hours)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    if (n < 1) return { ok: false, error: `${text}: the interval must be at least 1` };
    return {
      ok: true,
      schedule: {
        type: 'every',
        ms: n * (m[2].startsWith('hour') ? 3_600_000 : m[2].startsWith('minute') ? 60_000 : 1000),
      },
    };
  }
  return parseCron(text.trim());
}

const CRON_RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];
/** One part of a cron field: `*`, `N` or `N-M`, with an optional `/STEP`. */
const CRON_PART = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;
const CRON_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

function parseCron(text: string): ParsedSchedule {
  let expr = text;
  let timeZone: string | undefined;
  const tz = /^CRON_TZ=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    timeZone = tz[1];
    expr = tz[2];
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      return { ok: false, error: `${text}: unknown time zone ${timeZone}` };
    }
  }
  const fields = expr.split(/\s+/);
  if (fields.length !== 5) return { ok: false, error: `${text} is not a schedule: ${HINT}` };
  for (let i = 0; i < 5; i++) {
    const [lo, hi] = CRON_RANGES[i];
    for (const part of fields[i].split(',')) {
      const p = CRON_PART.exec(part);
      const nums = p ? [p[2], p[3], p[4]].filter((x) => x !== undefined).map(Number) : [];
      const inRange = p && [p[2], p[3]].filter((x) => x !== undefined).every((x) => Number(x) >= lo && Number(x) <= hi);
      if (!p || !inRange || (p[4] !== undefined && Number(p[4]) < 1) || nums.some(Number.isNaN)) {
        return {
          ok: false,
          error: `${text}: the ${CRON_NAMES[i]} field "${part}" is not valid (${lo}-${hi}, *, lists, ranges, /steps)`,
        };
      }
    }
  }
  try {
    nextCron(expr, Date.UTC(2026, 0, 1), 'UTC'); // five years from any day hold every date once (29 February too)
  } catch {
    return { ok: false, error: `${text} never fires: no day matches its day and month fields` };
  }
  return { ok: true, schedule: { type: 'cron', expression: expr, timeZone } };
}

/** Milliseconds from a duration such as 30s, 5m, 2h, 1d; undefined when not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

interface CronSets {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
}

function expand(field: string, [lo, hi]: [number, number]): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = CRON_PART.exec(part)!;
    const step = m[4] ? Number(m[4]) : 1;
    const from = m[1] === '*' ? lo : Number(m[2]);
    const to = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : from;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function cronSets(expr: string): CronSets {
  const f = expr.trim().split(/\s+/);
  const dow = expand(f[4], CRON_RANGES[4]);
  if (dow.has(7)) dow.add(0); // Sunday is 0 or 7
  return {
    minute: expand(f[0], CRON_RANGES[0]),
    hour: expand(f[1], CRON_RANGES[1]),
    dom: expand(f[2], CRON_RANGES[2]),
    month: expand(f[3], CRON_RANGES[3]),
    dow,
    domStar: f[2] === '*',
    dowStar: f[4] === '*',
  };
}

/** One formatter per zone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock parts of an instant in a zone. */
function wall(ms: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  const f = formatter(timeZone);
  const o = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { y: Number(o.year), mo: Number(o.month), d: Number(o.day), h: Number(o.hour), mi: Number(o.minute) };
}

const wallKey = (w: { y: number; mo: number; d: number; h: number; mi: number }) =>
  (((w.y * 13 + w.mo) * 32 + w.d) * 24 + w.h) * 60 + w.mi;

/**
 * The instant a wall-clock time happens in a zone: its first occurrence, or, inside a DST gap,
 * the instant the gap ends.
 */
export function instantOf(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  const target = wallKey({ y, mo, d, h, mi });
  const naive = Date.UTC(y, mo - 1, d, h, mi);
  // offsets are within ±14 h: find the earliest instant whose wall time reaches the target
  let lo = naive - 15 * 3_600_000,
    hi = naive + 15 * 3_600_000;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (wallKey(wall(mid, timeZone)) >= target) hi = mid;
    else lo = mid;
  }
  return wallKey(wall(lo, timeZone)) >= target ? lo : hi;
}

function dayMatches(c: CronSets, y: number, mo: number, d: number): boolean {
  if (!c.month.has(mo)) return false;
  const dow = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  // cron: when both day fields are restricted, either may match
  if (!c.domStar && !c.dowStar) return c.dom.has(d) || c.dow.has(dow);
  return (c.domStar || c.dom.has(d)) && (c.dowStar || c.dow.has(dow));
}

/** The first instant strictly after `afterMs` that a cron expression names, in `timeZone`. */
export function nextCron(expr: string, afterMs: number, timeZone: string): number {
  const c = cronSets(expr);
  const start = wall(afterMs, timeZone);
  const hours = [...c.hour].sort((a, b) => a - b);
  const minutes = [...c.minute].sort((a, b) => a - b);
  const day = new Date(Date.UTC(start.y, start.mo - 1, start.d));
  for (let i = 0; i < 366 * 5; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    const y = day.getUTCFullYear(),
      mo = day.getUTCMonth() + 1,
      d = day.getUTCDate();
    if (!dayMatches(c, y, mo, d)) continue;
    // on the first day, a wall time before the start's happens at or before it (even across a DST
    // gap or repeat, instantOf taking the first occurrence): skip it without the bisection
    const first = i === 0 ? start.h * 60 + start.mi : -1;
    let best: number | undefined;
    for (const h of hours) {
      if (h * 60 + 59 < first) continue;
      for (const mi of minutes) {
        if (h * 60 + mi < first) continue;
        const t = instantOf(y, mo, d, h, mi, timeZone);
        if (t > afterMs && (best === undefined || t < best)) best = t;
        if (best !== undefined) break;
      }
      if (best !== undefined) break;
    }
    if (best !== undefined) return best;
  }
  throw new HoardError('config', `the cron expression ${expr} never fires`, { hint: 'check the day and month fields' });
}

/** A schedule as cron (daily/weekly presets), or null for interval schedules. */
function asCron(s: Schedule): { expr: string; timeZone?: string } | null {
  if (s.type === 'daily') return { expr: `${s.minute} ${s.hour} * * *` };
  if (s.type === 'weekly') return { expr: `${s.minute} ${s.hour} * * ${s.day}` };
  if (s.type === 'cron') return { expr: s.expression, timeZone: s.timeZone };
  return null;
}

/**
 * When a schedule is next due. `lastRunMs` is the last run's start (undefined: never ran).
 * Interval schedules: last run + interval (now when never run). Others: the first time after the
 * last run (or after now when never run) in the schedule's zone (CRON_TZ), else `timeZone`.
 */
export function nextDue(s: Schedule, lastRunMs: number | undefined, nowMs: number, timeZone: string): number {
  if (s.type === 'every') return lastRunMs === undefined ? nowMs : lastRunMs + s.ms;
  const c = asCron(s)!;
  return nextCron(c.expr, lastRunMs ?? nowMs, c.timeZone ?? timeZone);
}

/** The schedule of a string; kind "config" naming it when it does not parse. */
export function scheduleOf(text: string, where: string): Schedule {
  const p = parseSchedule(text);
  if (!p.ok) throw new HoardError('config', `${where}: ${p.error}`, { hint: 'fix the schedule in hoard.yaml' });
  return p.schedule;
}

/** The machine's time zone: a job's schedule runs in it unless the job names a `timezone:`. */
export function machineZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}
