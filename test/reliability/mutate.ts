/**
 * Input mutation for the fuzzers: byte-level mutations of a valid sample (bit flips, interesting
 * bytes, cuts, insertions, duplications, truncation, pure noise) and structural mutations of a JSON
 * value (a field replaced by a value of another type or an extreme one, removed, or nested deeply).
 * Deterministic for a given random source.
 */

export type Rand = () => number;

const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const BYTES = [
  0, 1, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x2d, 0x65, 0x0a, 0x20, 0x3a,
];

function randomBytes(r: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** One byte-level mutation of `b` (never modifies `b`). */
function mutateOnce(r: Rand, b: Buffer): Buffer {
  const at = b.length ? int(r, b.length) : 0;
  switch (int(r, 8)) {
    case 0: {
      // flip one bit
      if (!b.length) return randomBytes(r, 1);
      const c = Buffer.from(b);
      c[at] ^= 1 << int(r, 8);
      return c;
    }
    case 1: {
      // an interesting byte
      if (!b.length) return Buffer.from([pick(r, BYTES)]);
      const c = Buffer.from(b);
      c[at] = pick(r, BYTES);
      return c;
    }
    case 2: {
      // cut a range
      const len = 1 + int(r, Math.max(1, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 3: // insert noise
      return Buffer.concat([b.subarray(0, at), randomBytes(r, 1 + int(r, 32)), b.subarray(at)]);
    case 4: {
      // duplicate a range
      const len = 1 + int(r, Math.min(256, Math.max(1, b.length - at)));
      return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    }
    case 5: // truncate
      return b.subarray(0, at);
    case 6: // overwrite a run with noise
      return Buffer.concat([
        b.subarray(0, at),
        randomBytes(r, Math.min(b.length - at, 1 + int(r, 16))),
        b.subarray(at + 16),
      ]);
    default: // pure noise of a similar size
      return randomBytes(r, int(r, Math.max(2, b.length * 2)));
  }
}

/** One to four stacked byte mutations of `b`. */
export function mutateBytes(r: Rand, b: Buffer): Buffer {
  let out = b;
  for (let i = 1 + int(r, 4); i > 0; i--) out = mutateOnce(r, out);
  return out;
}

function interesting(r: Rand): unknown {
  return pick(r, [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0.0,
    3,
    6,
    2 ** 20,
    2 ** 31,
    2 ** 32,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    '',
    'x',
    '\u0000',
    '../../etc',
    '/',
    'a/b',
    '..',
    '\ud800',
    'é'.repeat(1000),
    '9'.repeat(40),
    'a'.repeat(70_000),
    [],
    [null],
    {},
    { a: 1 },
    '2026-13-45T99:99:99Z',
    '0000000000000000000000000000000000000000000000000000000000000000',
    'zzzz',
    -1e308,
    0.1,
  ]);
}

/** Every [container, key] pair inside a JSON value (to depth 40), parents before children. */
function slots(v: unknown, out: [Record<string, unknown> | unknown[], string | number][] = [], depth = 0) {
  if (depth > 40) return out;
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out, depth + 1);
    });
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots(x, out, depth + 1);
    }
  return out;
}

/** A structurally mutated copy of a JSON value (one to three changes). */
export function mutateJson(r: Rand, value: unknown): unknown {
  const v = structuredClone(value);
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const s = slots(v);
    if (!s.length) return interesting(r);
    const [c, k] = pick(r, s);
    const what = int(r, 6);
    if (what === 0 && !Array.isArray(c)) delete (c as Record<string, unknown>)[k as string];
    else if (what === 1) (c as Record<string, unknown>)[k as string] = deep(int(r, 3000));
    else if (what === 2 && Array.isArray(c)) c.push(structuredClone(c[0]));
    else (c as Record<string, unknown>)[k as string] = interesting(r);
  }
  return v;
}

/** A placeholder for an array nested `n` deep (expanded in text: cloning such a value would recurse). */
const deep = (n: number) => `\u0001deep${n}\u0001`;
const DEEP = /"\\u0001deep(\d+)\\u0001"/g;

/** A mutated copy of `seed`: structural when it is JSON and the coin says so, else byte-level. */
export function mutate(r: Rand, seed: Buffer, json?: unknown): Buffer {
  if (json !== undefined && r() < 0.5) {
    return Buffer.from(
      JSON.stringify(mutateJson(r, json)).replace(DEEP, (_, n: string) => `${'['.repeat(+n)}1${']'.repeat(+n)}`),
    );
  }
  return mutateBytes(r, seed);
}
