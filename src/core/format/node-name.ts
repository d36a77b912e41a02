/**
 * restic stores tree node names as Go strconv.Quote(name) without the surrounding quotes
 * (restic-format.md §10.4). Names are raw bytes. "Printable" follows Unicode categories
 * L, M, N, P, S plus the space, via JS's Unicode tables (which may differ from Go's for the newest
 * code points).
 */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SHORT: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/** Decodes one UTF-8 sequence at i; returns [codePoint, length] or undefined when invalid. */
function utf8At(b: Uint8Array, i: number): [number, number] | undefined {
  const c = b[i];
  if (c < 0x80) return [c, 1];
  const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > b.length) return undefined;
  let cp = c & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
  for (let k = 1; k < len; k++) {
    if ((b[i + k] & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b[i + k] & 0x3f);
  }
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return [cp, len];
}

/** Quotes raw name bytes as restic stores Node.Name (before JSON string escaping). */
export function quoteNodeName(name: Uint8Array): string {
  let out = '';
  for (let i = 0; i < name.length; ) {
    const r = utf8At(name, i);
    if (!r) {
      out += `\\x${hex2(name[i])}`;
      i++;
      continue;
    }
    const [cp, len] = r;
    i += len;
    if (cp === 0x22) out += '\\"';
    else if (cp === 0x5c) out += '\\\\';
    else if (cp !== 0x7f && cp >= 0x20 && PRINTABLE.test(String.fromCodePoint(cp))) out += String.fromCodePoint(cp);
    else if (SHORT[cp]) out += SHORT[cp];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex2(cp)}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out;
}

const UNESC: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 0x5c,
  '"': 0x22,
  "'": 0x27,
};

/** Inverse of quoteNodeName (Go strconv.Unquote of '"' + s + '"'); throws Error when malformed. */
export function unquoteNodeName(stored: string): Buffer {
  if (!stored.includes('\\') && !stored.includes('"') && !stored.includes('\n')) return Buffer.from(stored, 'utf8');
  const out: number[] = [];
  const pushCp = (cp: number) => out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
  for (let i = 0; i < stored.length; i++) {
    const ch = stored[i];
    if (ch === '"' || ch === '\n') throw new Error('unescaped quote or newline in name');
    if (ch !== '\\') {
      const cp = stored.codePointAt(i)!;
      pushCp(cp);
      if (cp > 0xffff) i++;
      continue;
    }
    const e = stored[++i];
    if (e === undefined) throw new Error('name ends with a backslash');
    if (e in UNESC && e !== "'") {
      out.push(UNESC[e]);
      continue;
    }
    const take = (n: number, re: RegExp) => {
      const h = stored.slice(i + 1, i + 1 + n);
      if (h.length !== n || !re.test(h)) throw new Error(`bad escape \\${e}${h}`);
      i += n;
      return parseInt(h, re === OCT ? 8 : 16);
    };
    if (e === 'x') out.push(take(2, HEXRE));
    else if (e === 'u') pushCp(checkCp(take(4, HEXRE)));
    else if (e === 'U') pushCp(checkCp(take(8, HEXRE)));
    else if (e >= '0' && e <= '7') {
      i--;
      const v = take(3, OCT);
      if (v > 255) throw new Error('octal escape out of range');
      out.push(v);
    } else throw new Error(`unknown escape \\${e}`);
  }
  return Buffer.from(out);
}

const HEXRE = /^[0-9a-fA-F]+$/;
const OCT = /^[0-7]+$/;
function checkCp(cp: number): number {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid code point escape');
  return cp;
}
