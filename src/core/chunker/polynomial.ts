/**
 * Polynomials over GF(2) as used by restic's chunker (restic-format.md §5, §12): a random
 * irreducible polynomial of degree 53 per repository. BigInt is fine here: this runs once.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** Degree of p (index of the highest set bit); -1 for 0. */
export function polynomialDegree(p: bigint): number {
  return p === 0n ? -1 : p.toString(2).length - 1;
}

function mulMod(a: bigint, b: bigint, m: bigint): bigint {
  let r = 0n;
  const dm = polynomialDegree(m);
  while (b > 0n) {
    if (b & 1n) r ^= a;
    b >>= 1n;
    a <<= 1n;
    if (polynomialDegree(a) === dm) a ^= m;
  }
  return mod(r, m);
}

function mod(a: bigint, m: bigint): bigint {
  const dm = polynomialDegree(m);
  for (let d = polynomialDegree(a); d >= dm; d = polynomialDegree(a)) a ^= m << BigInt(d - dm);
  return a;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, mod(a, b)];
  return a;
}

/** Ben-Or irreducibility test, as restic's Pol.Irreducible. */
export function isIrreducible(f: bigint): boolean {
  const deg = polynomialDegree(f);
  if (deg < 1) return false;
  let x2i = 2n; // x
  for (let i = 1; i <= deg >> 1; i++) {
    x2i = mulMod(x2i, x2i, f); // x^(2^i) mod f
    if (gcd(f, x2i ^ 2n) !== 1n) return false;
  }
  return true;
}

/** A random irreducible polynomial of degree 53 chosen as restic's RandomPolynomial does. */
export function randomPolynomial(randomBytes: (n: number) => Uint8Array = nodeRandomBytes): bigint {
  for (let tries = 0; tries < 1_000_000; tries++) {
    const b = Buffer.from(randomBytes(8));
    let p = b.readBigUInt64LE(0) & ((1n << 54n) - 1n);
    p |= (1n << 53n) | 1n;
    if (isIrreducible(p)) return p;
  }
  throw new Error('unable to find an irreducible polynomial');
}

/** Lowercase hex without leading zeros or 0x. */
export function polynomialToHex(p: bigint): string {
  return p.toString(16);
}

/** Parses hex (as stored in the config); throws Error on bad input. */
export function polynomialFromHex(s: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(s)) throw new Error(`invalid polynomial ${JSON.stringify(s)}`);
  return BigInt(`0x${s}`);
}
