/**
 * Schedule maths, pure: when a schedule is next due, in a time zone, from the last run and now.
 * Daily and weekly presets are cron expressions underneath. Wall-clock rules across DST: a time
 * that does not exist (the spring-forward gap) runs when the gap ends; a time that happens twice
 * (fall back) runs once, at its first occurrence. `every N` counts from the last run.
 */
import { type Schedule, parseSchedule } from '../config/index.js';
import { HoardError } from '../core/index.js';

interface CronSets { minute: Set<number>; hour: Set<number>; dom: Set<number>; month: Set<number>; dow: Set<number>; domStar: boolean; dowStar: boolean }

const RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

function expand(field: string, [lo, hi]: [number, number]): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part)!;
    const step = m[4] ? Number(m[4]) : 1;
    const from = m[1] === '*' ? lo : Number(m[2]);
    const to = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : from;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function cronSets(expr: string): CronSets {
  const f = expr.trim().split(/\s+/);
  const dow = expand(f[4], RANGES[4]);
  if (dow.has(7)) dow.add(0); // Sunday is 0 or 7
  return { minute: expand(f[0], RANGES[0]), hour: expand(f[1], RANGES[1]), dom: expand(f[2], RANGES[2]), month: expand(f[3], RANGES[3]), dow, domStar: f[2] === '*', dowStar: f[4] === '*' };
}

/** Wall-clock parts of an instant in a zone. */
function wall(ms: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const o = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { y: Number(o.year), mo: Number(o.month), d: Number(o.day), h: Number(o.hour), mi: Number(o.minute) };
}

const wallKey = (w: { y: number; mo: number; d: number; h: number; mi: number }) => (((w.y * 13 + w.mo) * 32 + w.d) * 24 + w.h) * 60 + w.mi;

/**
 * The instant a wall-clock time happens in a zone: its first occurrence, or, inside a DST gap,
 * the instant the gap ends.
 */
export function instantOf(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  const target = wallKey({ y, mo, d, h, mi });
  const naive = Date.UTC(y, mo - 1, d, h, mi);
  // offsets are within ±14 h: find the earliest instant whose wall time reaches the target
  let lo = naive - 15 * 3_600_000, hi = naive + 15 * 3_600_000;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (wallKey(wall(mid, timeZone)) >= target) hi = mid; else lo = mid;
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
    const y = day.getUTCFullYear(), mo = day.getUTCMonth() + 1, d = day.getUTCDate();
    if (!dayMatches(c, y, mo, d)) continue;
    let best: number | undefined;
    for (const h of hours) {
      for (const mi of minutes) {
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
