/**
 * restic's content-defined chunker (github.com/restic/chunker v0.4.0), byte-for-byte: a Rabin
 * fingerprint over a 64-byte window with the repository's polynomial; cut where the low
 * `averageBits` bits of the digest are zero, within [minSize, maxSize] (restic-format.md §12).
 *
 * The 53-bit digest is kept as two int32 halves (hi: bits 32..52, lo: bits 0..31) so the per-byte
 * loop runs on small integers only.
 */
import { polynomialDegree } from './polynomial.js';

export interface ChunkerOptions {
  minSize?: number;
  maxSize?: number;
  averageBits?: number;
}

const WINDOW = 64;
export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;

interface Tables { outHi: Int32Array; outLo: Int32Array; modHi: Int32Array; modLo: Int32Array }
const tableCache = new Map<bigint, Tables>();

function bigMod(x: bigint, pol: bigint, deg: number): bigint {
  for (let d = polynomialDegree(x); d >= deg; d = polynomialDegree(x)) x ^= pol << BigInt(d - deg);
  return x;
}

function tablesFor(pol: bigint): Tables {
  let t = tableCache.get(pol);
  if (t) return t;
  const deg = polynomialDegree(pol);
  if (deg !== 53) throw new Error(`chunker polynomial must have degree 53, got ${deg}`);
  t = { outHi: new Int32Array(256), outLo: new Int32Array(256), modHi: new Int32Array(256), modLo: new Int32Array(256) };
  const mask32 = 0xffffffffn;
  for (let b = 0; b < 256; b++) {
    let h = bigMod(BigInt(b), pol, deg);
    for (let i = 0; i < WINDOW - 1; i++) h = bigMod(h << 8n, pol, deg);
    t.outHi[b] = Number(h >> 32n);
    t.outLo[b] = Number(h & mask32) | 0;
    // mod[b] = ((b << deg) mod pol) | (b << deg); the (b << deg) part only clears the shifted-out
    // bits, which the loop masks off instead, so only the remainder is stored.
    const m = bigMod(BigInt(b) << BigInt(deg), pol, deg);
    t.modHi[b] = Number(m >> 32n);
    t.modLo[b] = Number(m & mask32) | 0;
  }
  tableCache.set(pol, t);
  return t;
}

/** Streaming chunker: state carries across feed() calls. */
export class Chunker {
  private readonly t: Tables;
  private readonly minSize: number;
  private readonly maxSize: number;
  private readonly mask: number;
  private readonly win = new Uint8Array(WINDOW);
  private wpos = 0;
  private hi = 0;
  private lo = 0;
  private count = 0;
  private pre = 0;

  constructor(pol: bigint, opts: ChunkerOptions = {}) {
    this.t = tablesFor(pol);
    this.minSize = opts.minSize ?? MIN_SIZE;
    this.maxSize = opts.maxSize ?? MAX_SIZE;
    const bits = opts.averageBits ?? 20;
    if (bits < 1 || bits > 31) throw new Error('averageBits must be 1..31');
    if (this.minSize < WINDOW || this.maxSize < this.minSize) throw new Error('invalid chunk size limits');
    this.mask = bits === 31 ? 0x7fffffff : (1 << bits) - 1;
    this.reset();
  }

  /** Forgets all state (start a new stream). */
  reset(): void {
    this.startChunk();
  }

  private startChunk(): void {
    this.win.fill(0);
    this.win[0] = 1; // restic slides in one byte 1
    this.wpos = 1;
    this.hi = 0;
    this.lo = 1;
    this.count = 0;
    this.pre = this.minSize - WINDOW;
  }

  /** Bytes fed since the last cut. */
  get pending(): number {
    return this.count;
  }

  /**
   * Feeds bytes; returns the offsets within `data` at which chunks end (exclusive), ascending.
   * After a cut the next chunk starts at that offset.
   */
  feed(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const { outHi, outLo, modHi, modLo } = this.t;
    const win = this.win, mask = this.mask, minSize = this.minSize, maxSize = this.maxSize;
    const n = data.length;
    let i = 0;
    while (i < n) {
      if (this.pre > 0) {
        const skip = Math.min(this.pre, n - i);
        this.pre -= skip;
        this.count += skip;
        i += skip;
        continue;
      }
      let hi = this.hi, lo = this.lo, wpos = this.wpos, count = this.count;
      let cut = -1;
      while (i < n) {
        const b = data[i++];
        const out = win[wpos];
        win[wpos] = b;
        hi ^= outHi[out];
        lo ^= outLo[out];
        wpos = (wpos + 1) & 63;
        const index = hi >>> 13;
        hi = (((hi << 8) | (lo >>> 24)) & 0x1fffff) ^ modHi[index];
        lo = ((lo << 8) | b) ^ modLo[index];
        count++;
        if (count >= minSize && ((lo & mask) === 0 || count >= maxSize)) { cut = i; break; }
      }
      if (cut >= 0) {
        cuts.push(cut);
        this.startChunk();
      } else {
        this.hi = hi; this.lo = lo; this.wpos = wpos; this.count = count;
      }
    }
    return cuts;
  }
}

/** Cuts a whole buffer; returns the chunk lengths (the last is the remainder; [] for empty input). */
export function chunkBuffer(pol: bigint, data: Uint8Array, opts?: ChunkerOptions): number[] {
  const c = new Chunker(pol, opts);
  const lens: number[] = [];
  let last = 0;
  for (const cut of c.feed(data)) { lens.push(cut - last); last = cut; }
  if (last < data.length) lens.push(data.length - last);
  return lens;
}
