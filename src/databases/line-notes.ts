/**
 * The few lines of a restore's input that a refusal may have to name. A client that refuses a
 * command reports only its line number; the streams are far too large to keep, so a scan notes
 * the first bytes of the lines that could hold a client command (at most `max` of them) and the
 * refusal quotes the one it names. Memory is bounded: `max` × 60 characters.
 */

const SHOWN = 60;

export class LineNotes {
  private readonly lines = new Map<number, string>();

  constructor(private readonly max = 1000) {}

  /** True when no more lines are noted (callers may skip their scan). */
  get full(): boolean {
    return this.lines.size >= this.max;
  }

  /** Notes line `n` (1-based) by its first bytes; the first note of a line wins, once full nothing is noted. */
  add(n: number, head: Buffer): void {
    if (this.full || this.lines.has(n)) return;
    const text = head
      .toString('utf8', 0, Math.min(head.length, SHOWN * 4))
      .replace(/[\x00-\x1f\x7f]/g, ' ')
      .trimEnd();
    this.lines.set(n, text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text);
  }

  /** True when line `n` was noted (it may hold a client command). */
  has(n: number): boolean {
    return this.lines.has(n);
  }

  /** "line 3 (`\! touch x`)", or "line 3" when the line was not noted. */
  describe(n: number): string {
    const text = this.lines.get(n);
    return text === undefined ? `line ${n}` : `line ${n} (\`${text}\`)`;
  }
}

/** True when the line's first non-blank byte is a backslash (where client commands usually stand). */
export function backslashLine(head: Buffer): boolean {
  for (const b of head) {
    if (b !== 0x20 && b !== 0x09) return b === 0x5c;
  }
  return false;
}

const NL = 0x0a;
const HEAD = 64;

/**
 * Passes `source` through unchanged while noting in `notes` the lines whose first 64 bytes `pick`
 * accepts. One newline scan per chunk; lines split across chunks are seen whole.
 */
export async function* noting(
  source: AsyncIterable<Buffer>,
  notes: LineNotes,
  pick: (head: Buffer) => boolean,
): AsyncGenerator<Buffer> {
  let line = 1;
  let head: Buffer | null = null; // the start of a line that began in an earlier chunk
  for await (const chunk of source) {
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, pos);
      const end = nl === -1 ? chunk.length : nl;
      const part = chunk.subarray(pos, Math.min(end, pos + HEAD));
      const start: Buffer = head ? Buffer.concat([head, part]).subarray(0, HEAD) : part;
      if (nl === -1) {
        head = Buffer.from(start);
        break;
      }
      if (!notes.full && pick(start)) notes.add(line, start);
      head = null;
      line++;
      pos = nl + 1;
    }
    yield chunk;
  }
  if (head?.length && pick(head)) notes.add(line, head);
}
