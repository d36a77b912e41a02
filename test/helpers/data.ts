/** Deterministic test data with realistic entropy (compresses 2–6x with zstd, like a SQL dump). */

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent ' +
  'victor walter order shipped paid pending refunded invoice customer product widget gadget gizmo berlin ' +
  'paris tokyo lima oslo cairo'.split(' ');

/** `size` bytes of dump-like text lines (INSERT rows with names, emails, numbers, JSON). */
export function textLike(size: number, seed = 1): Buffer {
  const r = prng(seed);
  const parts: string[] = [];
  let n = 0,
    id = 1;
  while (n < size) {
    const w = () => WORDS[Math.floor(r() * WORDS.length)];
    const line = `INSERT INTO orders VALUES (${id++}, '${w()} ${w()}', '${w()}${Math.floor(r() * 1e4)}@example.com', ${Math.floor(r() * 1e6) / 100}, '{"city":"${w()}","items":${Math.floor(r() * 9)},"ref":"${Math.floor(r() * 1e12).toString(36)}"}', '2026-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}');\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}
