import { HoardError } from '../errors.js';

/**
 * JSON as Go's encoding/json writes it (restic-format.md §1), and a parser that keeps integers
 * beyond 2^53 exact (inode and device numbers in trees).
 */

/** A pre-encoded JSON fragment inserted verbatim by goStringify. */
export class RawJson {
  constructor(readonly text: string) {}
}

const HEX = '0123456789abcdef';

/**
 * A JSON string literal exactly as Go encodes it: `"` `\` escaped; \n \r \t; other control
 * characters as \u00XX (Go 1.19 style, also for \b and \f); < > & U+2028 U+2029 escaped; lone
 * surrogates become \ufffd; everything else raw.
 */
export function goQuoteJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (
      c < 0x20 ||
      c === 0x22 ||
      c === 0x5c ||
      c === 0x3c ||
      c === 0x3e ||
      c === 0x26 ||
      c === 0x2028 ||
      c === 0x2029
    ) {
      esc =
        c === 0x22
          ? '\\"'
          : c === 0x5c
            ? '\\\\'
            : c === 0x0a
              ? '\\n'
              : c === 0x0d
                ? '\\r'
                : c === 0x09
                  ? '\\t'
                  : `\\u${c < 0x100 ? `00${HEX[c >> 4]}${HEX[c & 15]}` : c.toString(16)}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out}${s.slice(start)}"`;
}

/**
 * Like JSON.stringify without whitespace, but strings as Go writes them, bigint as digits,
 * RawJson verbatim and Uint8Array as padded base64. undefined properties are dropped.
 */
export function goStringify(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return goQuoteJsonString(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('cannot encode a non-finite number');
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode ${typeof v}`);
  }
  if (v instanceof RawJson) return v.text;
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  if (v instanceof Date) throw new TypeError('encode times with formatGoTime');
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : goStringify(x))).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x !== undefined) parts.push(`${goQuoteJsonString(k)}:${goStringify(x)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Parses repository JSON that must be an object; kind "corrupt" naming `what` otherwise.
 * Large integers stay exact (see parseJson).
 */
export function decodeJsonObject(json: Uint8Array, what: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = parseJson(json);
  } catch {
    throw new HoardError('corrupt', `${what} is not valid JSON`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new HoardError('corrupt', `${what} is not a JSON object`);
  return j as Record<string, unknown>;
}

/**
 * An integer literal of 16 digits or more in value position (after ":", "[" or "," and before
 * ",", "]", "}" or the end): only those can fall outside the safe range. Digit runs inside
 * strings (hex blob ids hold them often: about 1 id in 40) do not match, except in the rare
 * string that looks like `:1234567890123456,`, which only costs the slower parser.
 */
const BIG_INT = /(?:^|[:,[])\s*-?\d{16,}(?=\s*(?:[,\]}]|$))/;

/** True when `s` may hold an integer beyond 2^53 and so needs the bigint-aware parser. */
export function mayHoldBigInt(s: string): boolean {
  return BIG_INT.test(s);
}

/**
 * Parses JSON; integers outside the safe range become bigint, all other numbers are numbers.
 * Throws SyntaxError on malformed input (and beyond a nesting depth of 1000).
 */
export function parseJson(text: string | Uint8Array): unknown {
  const s =
    typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (!mayHoldBigInt(s)) {
    checkDepth(s);
    return JSON.parse(s);
  }
  return new Parser(s).parseTop();
}

/** JSON.parse recurses natively; refuse absurd nesting before it can exhaust the stack. */
function checkDepth(s: string): void {
  let depth = 0,
    inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
      continue;
    }
    if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > 1000) throw new SyntaxError('JSON nested too deeply');
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  parseTop(): unknown {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected trailing data');
    return v;
  }

  private fail(m: string): never {
    throw new SyntaxError(`${m} at position ${this.i}`);
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i])) this.i++;
  }

  private value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (++this.depth > 1000) this.fail('JSON nested too deeply');
      const v = c === '{' ? this.object() : this.array();
      this.depth--;
      return v;
    }
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [lit, val] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return val;
      }
    }
    return this.fail('unexpected character');
  }

  private object(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return o;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail('expected ":"');
      Object.defineProperty(o, k, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return o;
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  private array(): unknown[] {
    const a: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return a;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x5c) this.i += 2;
      else if (c === 0x22) break;
      else this.i++;
    }
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }

  private number(): number | bigint {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) return this.fail('invalid number');
    this.i += m[0].length;
    if (!m[2] && !m[3]) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
}
