/**
 * Row counts read from a mysqldump/mariadb-dump stream as it passes: the tuples of each
 * `INSERT INTO `table` VALUES (…),(…);` statement (one line per statement in MySQL's tools, one
 * line per row in MariaDB's). They say what the dump holds, so they cannot vouch for it: a backup
 * records them beside the database's own counts (app/database-facts.ts), to tell a loss in the dump
 * from one in the restore. Strings are skipped with indexOf
 * (escapes as the dump tools write them: \' \\ \n …), so the scan runs near memchr speed.
 */

const QUOTE = 0x27,
  BACKSLASH = 0x5c,
  OPEN = 0x28,
  CLOSE = 0x29,
  SEMI = 0x3b;
const HEAD = Buffer.from('\nINSERT INTO `');
const VALUES = Buffer.from('` VALUES');
/** Bytes kept between chunks while looking for the next INSERT (its head fits easily). */
const CARRY = 512;

export class InsertRowCounter {
  readonly rows = new Map<string, number>();
  /** Inside an INSERT's values: the table; null while looking for the next INSERT. */
  private table: string | null = null;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Next quote and backslash positions in the chunk being scanned (kept across statements: rescanning is quadratic). */
  private scanned: Buffer | null = null;
  private nextQuote = -2;
  private nextBackslash = -2;
  private carry: Buffer = Buffer.from('\n');

  feed(chunk: Buffer): void {
    const buf = chunk;
    let i = 0;
    while (i < buf.length) {
      if (this.table === null) {
        if (this.carry.length) {
          // a head may span the chunk boundary: look at the carry joined with the start of this chunk
          const joined = Buffer.concat([this.carry, buf.subarray(i, i + CARRY)]);
          const at = joined.indexOf(HEAD);
          const end = at === -1 ? -1 : joined.indexOf(VALUES, at + HEAD.length);
          const carried = this.carry.length;
          const whole = buf.length - i <= CARRY; // the rest of this chunk is all in `joined`
          this.carry = Buffer.alloc(0);
          if (at !== -1 && end !== -1 && (at < carried || whole)) {
            this.begin(joined.toString('utf8', at + HEAD.length, end));
            i += end + VALUES.length - carried;
            continue;
          }
          if (whole) {
            this.carry = Buffer.from(joined.subarray(Math.max(0, at === -1 ? joined.length - CARRY : at)));
            return;
          }
        }
        const at = buf.indexOf(HEAD, i);
        const end = at === -1 ? -1 : buf.indexOf(VALUES, at + HEAD.length);
        if (at === -1 || end === -1) {
          this.carry = Buffer.from(buf.subarray(Math.max(i, at === -1 ? buf.length - CARRY : at)));
          return;
        }
        this.begin(buf.toString('utf8', at + HEAD.length, end));
        i = end + VALUES.length;
        continue;
      }
      i = this.values(buf, i);
    }
  }

  private begin(quotedName: string): void {
    this.table = quotedName.replace(/``/g, '`');
    if (!this.rows.has(this.table)) this.rows.set(this.table, 0);
  }

  /** Scans INSERT values from `i`; returns where it stopped (the end, or just after the closing ';'). */
  private values(buf: Buffer, i: number): number {
    const n = buf.length;
    if (this.scanned !== buf) {
      this.scanned = buf;
      this.nextQuote = -2;
      this.nextBackslash = -2;
    }
    let nextQuote = this.nextQuote,
      nextBackslash = this.nextBackslash;
    while (i < n) {
      if (this.escaped) {
        this.escaped = false;
        i++;
        continue;
      }
      if (this.inString) {
        // cached positions stay valid while ahead of i; -1 means none left in this chunk
        if (nextQuote < i && nextQuote !== -1) nextQuote = buf.indexOf(QUOTE, i);
        if (nextBackslash < i && nextBackslash !== -1) nextBackslash = buf.indexOf(BACKSLASH, i);
        const stop =
          nextBackslash !== -1 && (nextQuote === -1 || nextBackslash < nextQuote) ? nextBackslash : nextQuote;
        if (stop === -1) return n;
        if (stop === nextBackslash) {
          this.escaped = true;
          i = stop + 1;
          continue;
        }
        this.inString = false;
        i = stop + 1;
        continue;
      }
      const c = buf[i++];
      if (c === QUOTE)
        this.inString = true; // the dump tools quote every string value with '
      else if (c === OPEN) {
        if (this.depth++ === 0) this.rows.set(this.table!, this.rows.get(this.table!)! + 1);
      } else if (c === CLOSE) this.depth--;
      else if (c === SEMI && this.depth === 0) {
        this.table = null;
        this.nextQuote = nextQuote;
        this.nextBackslash = nextBackslash;
        return i;
      }
    }
    return n;
  }
}

/** Passes a dump through unchanged while `counter` counts its INSERT rows. */
export async function* countingInserts(
  source: AsyncIterable<Buffer>,
  counter: InsertRowCounter,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    counter.feed(chunk);
    yield chunk;
  }
}
