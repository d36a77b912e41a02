/**
 * Schedule strings of hoard.yaml: `daily at HH:MM`, `weekly on DAY at HH:MM`, `every N seconds|minutes|hours`
 * and five-field cron expressions (optionally prefixed `CRON_TZ=Zone`). Parsing is pure; `nextRun`
 * computes the next time for the presets in the machine's local time. Cron's next run (with time
 * zones and DST) belongs to the scheduler (src/daemon).
 */

export type Schedule =
  | { type: 'daily'; hour: number; minute: number }
  | { type: 'weekly'; day: number; hour: number; minute: number }
  | { type: 'every'; ms: number }
  | { type: 'cron'; expression: string; timeZone?: string };

export type ParsedSchedule = { ok: true; schedule: Schedule } | { ok: false; error: string };

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const HINT = 'write "daily at 02:00", "weekly on sunday at 03:00", "every 6 hours" or a cron expression such as "0 2 * * *"';

function clock(h: string, m: string): { hour: number; minute: number } | undefined {
  const hour = Number(h), minute = Number(m);
  return hour <= 23 && minute <= 59 ? { hour, minute } : undefined;
}

/** Parses a schedule string; never throws. */
export function parseSchedule(text: string): ParsedSchedule {
  const s = text.trim().toLowerCase().replace(/\s+/g, ' ');
  let m = /^daily at (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const c = clock(m[1], m[2]);
    return c ? { ok: true, schedule: { type: 'daily', ...c } } : { ok: false, error: `${text}: the time must be between 00:00 and 23:59` };
  }
  m = /^weekly on ([a-z]+) at (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const day = DAYS.findIndex((d) => d === m![1] || d.slice(0, 3) === m![1]);
    if (day < 0) return { ok: false, error: `${text}: unknown day ${m[1]} (write monday … sunday)` };
    const c = clock(m[2], m[3]);
    return c ? { ok: true, schedule: { type: 'weekly', day, ...c } } : { ok: false, error: `${text}: the time must be between 00:00 and 23:59` };
  }
  m = /^every (\d{1,4}) (second|seconds|minute|minutes|hour|hours)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    if (n < 1) return { ok: false, error: `${text}: the interval must be at least 1` };
    return { ok: true, schedule: { type: 'every', ms: n * (m[2].startsWith('hour') ? 3_600_000 : m[2].startsWith('minute') ? 60_000 : 1000) } };
  }
  return parseCron(text.trim());
}

const CRON_RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
const CRON_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

function parseCron(text: string): ParsedSchedule {
  let expr = text;
  let timeZone: string | undefined;
  const tz = /^CRON_TZ=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    timeZone = tz[1];
    expr = tz[2];
    try { new Intl.DateTimeFormat('en', { timeZone }); } catch { return { ok: false, error: `${text}: unknown time zone ${timeZone}` }; }
  }
  const fields = expr.split(/\s+/);
  if (fields.length !== 5) return { ok: false, error: `${text} is not a schedule: ${HINT}` };
  for (let i = 0; i < 5; i++) {
    const [lo, hi] = CRON_RANGES[i];
    for (const part of fields[i].split(',')) {
      const p = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      const nums = p ? [p[2], p[3], p[4]].filter((x) => x !== undefined).map(Number) : [];
      const inRange = p && [p[2], p[3]].filter((x) => x !== undefined).every((x) => Number(x) >= lo && Number(x) <= hi);
      if (!p || !inRange || (p[4] !== undefined && Number(p[4]) < 1) || nums.some(Number.isNaN)) {
        return { ok: false, error: `${text}: the ${CRON_NAMES[i]} field "${part}" is not valid (${lo}-${hi}, *, lists, ranges, /steps)` };
      }
    }
  }
  return { ok: true, schedule: { type: 'cron', expression: expr, timeZone } };
}

/**
 * The first run strictly after `afterMs` (local time for daily/weekly; `every` counts from
 * `afterMs`, the last run). Undefined for cron, which the scheduler computes.
 */
export function nextRun(s: Schedule, afterMs: number): number | undefined {
  if (s.type === 'every') return afterMs + s.ms;
  if (s.type === 'cron') return undefined;
  const d = new Date(afterMs);
  d.setSeconds(0, 0);
  d.setHours(s.hour, s.minute);
  if (s.type === 'weekly') d.setDate(d.getDate() + ((s.day - d.getDay() + 7) % 7));
  while (d.getTime() <= afterMs) d.setDate(d.getDate() + (s.type === 'weekly' ? 7 : 1));
  return d.getTime();
}

/** Milliseconds from a duration such as 30s, 5m, 2h, 1d; undefined when not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
