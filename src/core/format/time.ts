/** Go RFC 3339 times with nanoseconds (time.RFC3339Nano), as restic writes them. */

/** A point in time with nanosecond precision and the UTC offset it was written with. */
export interface GoTime {
  /** Nanoseconds since the Unix epoch (may be negative). */
  ns: bigint;
  /** Offset east of UTC in minutes. */
  offsetMinutes: number;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const p2 = (n: number) => String(n).padStart(2, '0');

/** Formats like Go: trailing zeros of the fraction dropped (no dot when 0), "Z" or ±hh:mm. */
export function formatGoTime(t: GoTime): string {
  const local = t.ns + BigInt(t.offsetMinutes) * 60n * NS_PER_S;
  let secs = local / NS_PER_S;
  let frac = local % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`year ${y} outside 0000..9999`);
  let out = `${String(y).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  if (frac !== 0n) out += `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  if (t.offsetMinutes === 0) return `${out}Z`;
  const o = Math.abs(t.offsetMinutes);
  return `${out}${t.offsetMinutes < 0 ? '-' : '+'}${p2(Math.floor(o / 60))}:${p2(o % 60)}`;
}

const RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses RFC 3339 with 0..9 fraction digits and any offset; throws Error on bad input. */
export function parseGoTime(s: string): GoTime {
  const m = RE.exec(s);
  if (!m) throw new Error(`invalid time ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, se, fr, , sign, oh, om] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +se > 60)
    throw new Error(`invalid time ${JSON.stringify(s)}`);
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se);
  const base = new Date(ms);
  if (+y < 100) base.setUTCFullYear(+y); // Date.UTC maps years 0..99 to 1900..1999
  const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (+oh * 60 + +om) : 0;
  const ns =
    BigInt(base.getTime()) * NS_PER_MS +
    BigInt((fr ?? '').padEnd(9, '0') || '0') -
    BigInt(offsetMinutes) * 60n * NS_PER_S;
  return { ns, offsetMinutes };
}

/** The local zone's offset (east of UTC, minutes) at an instant. */
export function localOffset(ms: number): number {
  const o = -new Date(ms).getTimezoneOffset();
  return o === 0 ? 0 : o; // avoid -0
}

/** From epoch milliseconds; offset defaults to the local zone's. */
export function goTimeFromMs(ms: number, offsetMinutes = localOffset(ms)): GoTime {
  return { ns: BigInt(Math.round(ms)) * NS_PER_MS, offsetMinutes };
}

/** From fs bigint nanoseconds (stat(..., {bigint: true}).mtimeNs); offset defaults to local. */
export function goTimeFromNs(ns: bigint, offsetMinutes = localOffset(Number(ns / NS_PER_MS))): GoTime {
  return { ns, offsetMinutes };
}

/** Epoch milliseconds (fraction truncated toward minus infinity). */
export function goTimeToMs(t: GoTime): number {
  const q = t.ns / NS_PER_MS;
  return Number(t.ns < 0n && q * NS_PER_MS !== t.ns ? q - 1n : q);
}
