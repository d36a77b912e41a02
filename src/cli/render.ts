/** Text rendering shared by commands: tables, human sizes and ages, colour only on a terminal. */
import { span } from '../app/format.js';
import { formatBytes } from './context.js';

export { span };

/** Short human size: 1.2 MiB, 340 KiB, 12 B. */
export function size(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const s = formatBytes(n);
  return s.replace(/^(\d+)\.(\d)\d*/, (_, a: string, b: string) => (a.length >= 3 ? a : `${a}.${b}`));
}

/** "3 h ago" / "in 29 d". */
export function relative(ms: number, nowMs: number): string {
  return ms <= nowMs ? `${span(nowMs - ms)} ago` : `in ${span(ms - nowMs)}`;
}

/** Local "YYYY-MM-DD HH:MM". */
export function when(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const wrap = (a: number, b: number) => (s: string) => `\u001b[${a}m${s}\u001b[${b}m`;

/** ANSI colours on a terminal (unless NO_COLOR is set), plain text otherwise. */
export function paint(tty: boolean, vars: NodeJS.ProcessEnv): Paint {
  const on = tty && !vars.NO_COLOR && vars.TERM !== 'dumb';
  const id = (s: string) => s;
  return on
    ? { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39) }
    : { bold: id, dim: id, red: id, green: id, yellow: id };
}

// eslint-disable-next-line no-control-regex
const visible = (s: string) => s.replace(/\u001b\[\d+m/g, '').length;

/** Rows under a header, columns padded to their widest cell (colour codes not counted). */
export function table(head: string[], rows: string[][], p?: Paint): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c + ' '.repeat(w[i] - visible(c)))
      .join('  ')
      .trimEnd();
  const header = fmt(head);
  return [p ? p.bold(header) : header, ...rows.map(fmt)];
}

/**
 * A line as it may reach a terminal: control characters (names and metadata from a repository may
 * hold escape sequences that retitle, recolour or rewrite a terminal) become "?", except tabs and
 * the colour codes hoard itself writes (ESC [ digits m).
 */
export function terminalSafe(line: string): string {
  return line.replace(/\u001b(?!\[\d{1,3}m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f]/g, '?');
}
