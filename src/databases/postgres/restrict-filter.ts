/**
 * The script a plain or custom restore feeds psql, made to run only SQL. psql starts in restricted
 * mode under a key of hoard's own (`\restrict KEY` is its first line; the matching `\unrestrict`
 * is never sent), so it refuses every meta-command of the dump — `\!`, `\o`, `\copy`, `\w`,
 * `\setenv`, `\gexec` … — and a tampered dump cannot run a program, read or write a file on the
 * restoring host. pg_dump and pg_restore 15.14+ (13.22, 14.19, 16.10, 17.6 and later) write their
 * own `\restrict K` and `\unrestrict K` lines, which a psql already restricted would refuse: outside
 * COPY data they become empty lines, so the line numbers psql reports stay those of the dump.
 * Security rests on the key alone, not on this filter: a dump that hides its `\unrestrict` from it
 * still cannot know the key.
 *
 * Streaming and constant memory: COPY data (`COPY … FROM stdin;` to `\.`) passes untouched, and a
 * line split across chunks is handled (only the first 12 bytes of a line starting with `\` are
 * held back until it is known whether it is a restrict line).
 */
import { randomBytes } from 'node:crypto';
import { HoardError } from '../../core/index.js';
import { LineNotes, backslashLine } from '../line-notes.js';

const NL = 0x0a;
const CR = 0x0d;
const BS = 0x5c;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);
/** How much of a line that began in an earlier chunk is kept: its start (COPY header, notes) and end. */
const HEAD = 256;
const TAIL = 16;
const WORDS = [Buffer.from('\\restrict'), Buffer.from('\\unrestrict')];
const COPY = Buffer.from('COPY ');
const FROM_STDIN = Buffer.from(' FROM stdin;');

type Verdict = 'drop' | 'pass' | 'wait';

/** Whether a line starting with `b` (all of it when `complete`) is a `\restrict` or `\unrestrict` line. */
export function restrictVerdict(b: Buffer, complete: boolean): Verdict {
  for (const word of WORDS) {
    const n = Math.min(b.length, word.length);
    if (b.compare(word, 0, n, 0, n) !== 0) continue;
    if (b.length < word.length) return complete ? 'pass' : 'wait';
    if (b.length === word.length) return complete ? 'drop' : 'wait';
    const next = b[word.length];
    return next === 0x20 || next === 0x09 || next === CR ? 'drop' : 'pass';
  }
  return 'pass';
}

function isCopyEnd(head: Buffer, len: number): boolean {
  return head[0] === BS && head[1] === DOT && (len === 2 || (len === 3 && head[2] === CR));
}

/** `COPY … FROM stdin;` as pg_dump writes it (one line; a CR before the newline allowed). */
function isCopyStart(head: Buffer, tail: Buffer): boolean {
  if (head.length < COPY.length || head.compare(COPY, 0, COPY.length, 0, COPY.length) !== 0) return false;
  const end = tail[tail.length - 1] === CR ? tail.length - 1 : tail.length;
  return end >= FROM_STDIN.length && tail.compare(FROM_STDIN, 0, FROM_STDIN.length, end - FROM_STDIN.length, end) === 0;
}

export class RestrictLineFilter {
  /** Lines outside COPY data that start with a backslash, for the message when psql refuses one. */
  readonly notes = new LineNotes();
  private inCopy = false;
  private lineNo = 1;
  /** The current line began in an earlier chunk: what is known of it. */
  private open = false;
  private head: Buffer = EMPTY;
  private tail: Buffer = EMPTY;
  private len = 0;
  /** Bytes of the current line held back until it is known whether it is a restrict line. */
  private held: Buffer[] | null = null;
  private dropping = false;

  /** The filtered bytes of `chunk`, in order (mostly views of it: COPY data is not copied). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    let emit = 0; // bytes of chunk from `emit` up to where the scan is are passed on
    if (this.open) {
      const nl = chunk.indexOf(NL);
      const end = nl === -1 ? chunk.length : nl;
      if (this.continueLine(chunk.subarray(0, end), nl !== -1, out)) emit = end;
      if (nl === -1) {
        pushRange(out, chunk, emit, chunk.length);
        return out;
      } // the line goes on
      this.finishLine(this.head, this.tail, this.len, false);
      pos = nl + 1;
    }
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        if (this.startLine(chunk.subarray(pos))) {
          pushRange(out, chunk, emit, pos);
          emit = chunk.length;
        }
        break;
      }
      if (this.inCopy) {
        if (chunk[pos] === BS && isCopyEnd(chunk.subarray(pos, nl), nl - pos)) this.inCopy = false;
        this.lineNo++;
      } else {
        const line = chunk.subarray(pos, nl);
        const drop = line[0] === BS && restrictVerdict(line, true) === 'drop';
        if (drop) {
          pushRange(out, chunk, emit, pos);
          emit = nl;
        } // keep the newline: an empty line in its place
        this.finishLine(line, line, line.length, drop);
      }
      pos = nl + 1;
    }
    pushRange(out, chunk, emit, chunk.length);
    return out;
  }

  /** What is still held at the end of the input (a last line without a newline). */
  end(): Buffer[] {
    if (!this.open || !this.held) return [];
    const held = this.held;
    this.held = null;
    return restrictVerdict(this.head, true) === 'drop' ? [] : held;
  }

  /** A line that goes on past this chunk begins with `part`; true when its bytes are held or dropped (not passed). */
  private startLine(part: Buffer): boolean {
    this.open = true;
    this.len = part.length;
    this.head = Buffer.from(part.subarray(0, HEAD));
    this.tail = Buffer.from(part.subarray(-TAIL));
    this.dropping = false;
    this.held = null;
    if (this.inCopy || part[0] !== BS) return false;
    const v = restrictVerdict(this.head, false);
    if (v === 'pass') return false;
    if (v === 'drop') this.dropping = true;
    else this.held = [Buffer.from(part)];
    return true;
  }

  /** More of the open line; true when these bytes are not to be passed (held or dropped). */
  private continueLine(part: Buffer, complete: boolean, out: Buffer[]): boolean {
    if (this.head.length < HEAD) this.head = Buffer.concat([this.head, part.subarray(0, HEAD - this.head.length)]);
    this.tail = Buffer.concat([this.tail, part.subarray(-TAIL)]).subarray(-TAIL);
    this.len += part.length;
    if (this.dropping) return true;
    if (!this.held) return false;
    const v = restrictVerdict(this.head, complete);
    if (v === 'wait') {
      this.held.push(Buffer.from(part));
      return true;
    }
    const held = this.held;
    this.held = null;
    if (v === 'drop') {
      this.dropping = true;
      return true;
    }
    out.push(...held);
    return false;
  }

  /** A whole line seen (its first bytes, last bytes and length): COPY state, notes, line count. */
  private finishLine(head: Buffer, tail: Buffer, len: number, dropped: boolean): void {
    const dropping = dropped || this.dropping;
    this.open = false;
    this.dropping = false;
    this.held = null;
    if (this.inCopy) {
      if (isCopyEnd(head, len)) this.inCopy = false;
    } else if (!dropping) {
      if (head[0] === 0x43 /* C */ && isCopyStart(head, tail)) this.inCopy = true;
      else if (!this.notes.full && backslashLine(head)) this.notes.add(this.lineNo, head);
    }
    this.lineNo++;
  }
}

function pushRange(out: Buffer[], chunk: Buffer, from: number, to: number): void {
  if (to > from) out.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
}

/** A fresh key for psql's restricted mode (alphanumeric, as psql wants it); never written anywhere but psql's stdin. */
export function restrictKey(): string {
  return randomBytes(24).toString('hex');
}

/**
 * psql's input for a restore: `\restrict KEY`, then `prelude` (hoard's own SQL), then the dump
 * through the filter. `after` (a converter's exit) must resolve before the input ends, so psql
 * never sees a clean end of a failed conversion. `offset` is the number of lines before the dump.
 */
export function restrictedScript(
  dump: AsyncIterable<Buffer>,
  prelude: string,
  after?: Promise<void>,
): {
  script: AsyncGenerator<Buffer>;
  filter: RestrictLineFilter;
  offset: number;
} {
  const filter = new RestrictLineFilter();
  const head = `\\restrict ${restrictKey()}\n${prelude}${prelude && !prelude.endsWith('\n') ? '\n' : ''}`;
  const offset = head.split('\n').length - 1;
  async function* script(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for await (const chunk of dump) for (const b of filter.push(chunk)) yield b;
    for (const b of filter.end()) yield b;
    await after;
  }
  return { script: script(), filter, offset };
}

const REFUSED = /psql:<stdin>:(\d+): error: (?:backslash commands are restricted|\\unrestrict: wrong key)/;

/**
 * psql's refusal of a meta-command, as kind "corrupt" (exit 5) naming the dump's line; any other
 * error is returned as it is. `offset`: lines psql read before the dump; `of`: what the line
 * numbers count (e.g. "of the SQL pg_restore made of it").
 */
export function refusalError(e: unknown, filter: RestrictLineFilter, offset: number, of = ''): unknown {
  const m = REFUSED.exec((e as Error)?.message ?? '');
  if (!m) return e;
  const where = filter.notes.describe(Number(m[1]) - offset);
  return new HoardError(
    'corrupt',
    `the dump tries to run a psql command at ${where}${of ? ` ${of}` : ''}, which no dump of pg_dump contains; psql refused it and ran none of the dump`,
    {
      hint:
        'the stored dump was changed after the backup: restore an older snapshot, and check who ' +
        'can write to the repository',
    },
  );
}
