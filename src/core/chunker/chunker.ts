/**
 * restic's content-defined chunker (github.com/restic/chunker v0.4.0), byte-for-byte: a Rabin
 * fingerprint over a 64-byte window with the repository's polynomial; cut where the low
 * `averageBits` bits of the digest are zero, within [minSize, maxSize] (restic-format.md §12).
 *
 * The 53-bit digest is kept as two int32 halves (hi: bits 32..52, lo: bits 0..31) so the per-byte
 * loop runs on small integers only.
 */
import { type NativeChunker, nativeChunker } from './native.js';
import { polynomialDegree } from './polynomial.js';

export interface ChunkerOptions {
  minSize?: number;
  maxSize?: number;
  averageBits?: number;
  /** Use the C loop when it is built (default true); false forces the TypeScript reference loop. */
  native?: boolean;
}

const WINDOW = 64;
export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
/** Below this a thread-pool hop costs more than the loop (about 2 ns a byte). */
const ASYNC_FEED_MIN = 64 * 1024;

/** outHi, outLo, modHi, modLo: four 256-entry views on one 1024-entry array (the C loop takes it whole). */
interface Tables {
  all: Int32Array;
  outHi: Int32Array;
  outLo: Int32Array;
  modHi: Int32Array;
  modLo: Int32Array;
}
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
  const all = new Int32Array(1024);
  t = {
    all,
    outHi: all.subarray(0, 256),
    outLo: all.subarray(256, 512),
    modHi: all.subarray(512, 768),
    modLo: all.subarray(768, 1024),
  };
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

// Indexes into the state array shared with the C loop.
const HI = 0,
  LO = 1,
  WPOS = 2,
  COUNT = 3,
  PRE = 4,
  MIN = 5,
  MAX = 6,
  MASK = 7;

/** Streaming chunker: state carries across feed() calls. */
export class Chunker {
  private readonly t: Tables;
  private readonly st = new Int32Array(8);
  private readonly win = new Uint8Array(WINDOW);
  private readonly native: NativeChunker | null;
  /** A feedAsync is running: the state belongs to the thread pool until it settles. */
  private busy = false;

  constructor(pol: bigint, opts: ChunkerOptions = {}) {
    this.t = tablesFor(pol);
    const minSize = opts.minSize ?? MIN_SIZE;
    const maxSize = opts.maxSize ?? MAX_SIZE;
    const bits = opts.averageBits ?? 20;
    if (bits < 1 || bits > 31) throw new Error('averageBits must be 1..31');
    if (minSize < WINDOW || maxSize < minSize || maxSize > 2 ** 31 - 1) throw new Error('invalid chunk size limits');
    this.st[MIN] = minSize;
    this.st[MAX] = maxSize;
    this.st[MASK] = bits === 31 ? 0x7fffffff : (1 << bits) - 1;
    this.native = opts.native === false ? null : nativeChunker();
    this.reset();
  }

  /** Forgets all state (start a new stream). */
  reset(): void {
    this.notBusy();
    this.startChunk();
  }

  private startChunk(): void {
    this.win.fill(0);
    this.win[0] = 1; // restic slides in one byte 1
    this.st[WPOS] = 1;
    this.st[HI] = 0;
    this.st[LO] = 1;
    this.st[COUNT] = 0;
    this.st[PRE] = this.st[MIN] - WINDOW;
  }

  /** Bytes fed since the last cut. */
  get pending(): number {
    return this.st[COUNT];
  }

  /**
   * Feeds bytes; returns the offsets within `data` at which chunks end (exclusive), ascending.
   * After a cut the next chunk starts at that offset.
   */
  feed(data: Uint8Array): number[] {
    this.notBusy();
    if (this.native) {
      const cuts = this.cutsFor(data);
      return Array.from(cuts.subarray(0, this.native.feed(this.t.all, this.st, this.win, data, cuts)));
    }
    return this.feedJs(data);
  }

  /**
   * feed() off the calling thread: with the native loop, buffers of ASYNC_FEED_MIN bytes or more
   * are cut on libuv's thread pool, so the main thread reads, hashes and schedules meanwhile.
   * `data` must not change until it settles, and no other feed may start before then.
   */
  async feedAsync(data: Uint8Array): Promise<number[]> {
    const run = this.native?.feedAsync;
    if (!run || data.length < ASYNC_FEED_MIN) return this.feed(data);
    this.notBusy();
    this.busy = true;
    try {
      const cuts = this.cutsFor(data);
      return Array.from(cuts.subarray(0, await run(this.t.all, this.st, this.win, data, cuts)));
    } finally {
      this.busy = false;
    }
  }

  private cutsFor(data: Uint8Array): Int32Array {
    return new Int32Array(Math.floor(data.length / this.st[MIN]) + 2);
  }

  private notBusy(): void {
    if (this.busy) throw new Error('chunker: feed while another feed is running');
  }

  /** The reference loop (restic's algorithm on 32-bit halves). */
  private feedJs(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const { outHi, outLo, modHi, modLo } = this.t;
    const st = this.st,
      win = this.win,
      mask = st[MASK],
      minSize = st[MIN],
      maxSize = st[MAX];
    const n = data.length;
    let i = 0;
    while (i < n) {
      if (st[PRE] > 0) {
        const skip = Math.min(st[PRE], n - i);
        st[PRE] -= skip;
        st[COUNT] += skip;
        i += skip;
        continue;
      }
      let hi = st[HI],
        lo = st[LO],
        wpos = st[WPOS],
        count = st[COUNT];
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
        if (count >= minSize && ((lo & mask) === 0 || count >= maxSize)) {
          cut = i;
          break;
        }
      }
      if (cut >= 0) {
        cuts.push(cut);
        this.startChunk();
      } else {
        st[HI] = hi;
        st[LO] = lo;
        st[WPOS] = wpos;
        st[COUNT] = count;
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
  for (const cut of c.feed(data)) {
    lens.push(cut - last);
    last = cut;
  }
  if (last < data.length) lens.push(data.length - last);
  return lens;
}
