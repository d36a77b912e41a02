/**
 * Row counts read from a plain pg_dump as it streams past: the rows between each
 * `COPY schema.table (...) FROM stdin;` line and its `\.` terminator. They say what the dump
 * holds, so they cannot vouch for it (a dump that left rows out agrees with itself): a backup
 * records them beside the counts read in the dump's snapshot (app/database-facts.ts), to tell a
 * loss in the dump from one in the restore. Costs one newline scan of the stream.
 */

const NL = 0x0a;
/** Longest line start kept across a chunk boundary (COPY header lines list every column). */
const MAX_CARRY = 1 << 16;

/** "public.\"Odd\"\"Name\"" → "public.Odd\"Name" (the catalog's spelling). */
export function unquoteQualified(text: string): string {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.join('.');
}

/** The table a `COPY ... FROM stdin;` line names, or null for any other line. */
export function copyTarget(line: string): string | null {
  const m = /^COPY (.+?)(?: \(.*\))? FROM stdin;$/.exec(line);
  return m ? unquoteQualified(m[1]) : null;
}

export class CopyRowCounter {
  readonly rows = new Map<string, number>();
  private table: string | null = null;
  private carry: Buffer = Buffer.alloc(0);
  private carryCut = false;

  /** Feeds the next bytes of the dump. */
  feed(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) break;
      if (this.carry.length || this.carryCut) {
        const head = Buffer.concat([this.carry, chunk.subarray(0, Math.min(nl, MAX_CARRY))]);
        this.line(head, head.length, this.carryCut);
        this.carry = Buffer.alloc(0);
        this.carryCut = false;
      } else {
        this.line(chunk.subarray(start, nl), nl - start, false);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const room = MAX_CARRY - this.carry.length;
      if (room > 0) this.carry = Buffer.concat([this.carry, chunk.subarray(start, start + room)]);
      if (chunk.length - start > room) this.carryCut = true;
    }
  }

  private line(bytes: Buffer, length: number, cut: boolean): void {
    if (this.table !== null) {
      if (length === 2 && bytes[0] === 0x5c && bytes[1] === 0x2e) {
        this.table = null;
        return;
      } // "\."
      this.rows.set(this.table, (this.rows.get(this.table) ?? 0) + 1);
      return;
    }
    if (cut || length < 16 || bytes[0] !== 0x43 /* C */) return;
    const t = copyTarget(bytes.toString('utf8', 0, length));
    if (t !== null) {
      this.table = t;
      this.rows.set(t, this.rows.get(t) ?? 0);
    }
  }
}

/** Passes a dump through unchanged while `counter` counts its COPY rows. */
export async function* countingRows(source: AsyncIterable<Buffer>, counter: CopyRowCounter): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    counter.feed(chunk);
    yield chunk;
  }
}
