/**
 * The in-memory view of all index files: blob (type, id) → where it is stored, and pack → its
 * blobs. Not thread-safe across processes; within one process all writers go through the
 * Repository that owns it.
 *
 * Compact on purpose (a kernel tree has ~170,000 blobs, a large file server tens of millions): a
 * row per listed blob in typed arrays — 32 id bytes, pack number, type, offset, length and
 * uncompressed length, 61 bytes — and an open-addressing table of row numbers keyed by a seeded
 * hash of the id (4 bytes a slot, at most half full). The Map of objects and strings it replaces
 * cost about 500 bytes a blob. A pack's blobs are the rows added with it, so the pack → blobs view
 * is a row range, turned into objects only when asked for (check, prune). The seed is random per
 * process: ids come from index files a key holder may have forged, and must not be able to pile
 * up in one chain.
 */
import { randomBytes } from 'node:crypto';
import type { BlobType, PackedBlob } from '../format/pack.js';
import type { IndexFile, IndexPack } from '../format/index-file.js';

/** Where one blob is stored. */
export interface BlobLocation extends PackedBlob {
  pack: string;
}

const NO_LENGTH = -1;
const [SEED_A, SEED_B] = new Uint32Array(randomBytes(8).buffer);

/** Parses 64 hex digits into `out` (32 bytes); false when `hex` is not that. */
function parseId(hex: string, out: Uint8Array, at: number): boolean {
  if (hex.length !== 64) return false;
  for (let i = 0; i < 32; i++) {
    const hi = digit(hex.charCodeAt(2 * i)),
      lo = digit(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    out[at + i] = (hi << 4) | lo;
  }
  return true;
}

function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The packs and their blobs, as a read-only Map-like view of the index's rows. */
export class PackView {
  constructor(private readonly idx: MasterIndex) {}

  get size(): number {
    return this.idx.packIds.length;
  }

  has(pack: string): boolean {
    return this.idx.packNumbers.has(pack);
  }

  /** The blobs listed with the pack (a new array each call), or undefined for an unknown pack. */
  get(pack: string): PackedBlob[] | undefined {
    const p = this.idx.packNumbers.get(pack);
    return p === undefined ? undefined : this.idx.packBlobs(p);
  }

  *keys(): IterableIterator<string> {
    yield* this.idx.packIds;
  }

  *values(): IterableIterator<PackedBlob[]> {
    for (let p = 0; p < this.idx.packIds.length; p++) yield this.idx.packBlobs(p);
  }

  *[Symbol.iterator](): IterableIterator<[string, PackedBlob[]]> {
    for (let p = 0; p < this.idx.packIds.length; p++) yield [this.idx.packIds[p], this.idx.packBlobs(p)];
  }
}

export class MasterIndex {
  /** Pack number → pack id, and back. Internal to this module and PackView. */
  readonly packIds: string[] = [];
  readonly packNumbers = new Map<string, number>();
  /** Pack number → its first row and row count. */
  private packStart = new Uint32Array(64);
  private packRows = new Uint32Array(64);

  private rows = 0;
  private ids = new Uint8Array(32 * 1024);
  private packOf = new Uint32Array(1024);
  private tree = new Uint8Array(1024);
  private nums = new Float64Array(3 * 1024); // offset, length, uncompressed length (NO_LENGTH: none)

  /** Slots of row + 1 (0: empty); the length is a power of two. */
  private slots = new Uint32Array(2048);
  private blobs = 0;
  private readonly probe = new Uint8Array(32);

  /** Pack id → its blobs, for check and prune (a view: each get() builds the list). */
  readonly packs = new PackView(this);
  /** Packs that are stored but not yet written to an index file. */
  private pending: IndexPack[] = [];
  private pendingBlobCount = 0;

  /** Adds every pack of a loaded index file. Duplicate blobs keep the first location seen. */
  addIndexFile(idx: IndexFile): void {
    for (const p of idx.packs) this.addPack(p);
  }

  /**
   * A pack listed again (in a second index file) keeps its first list; its blobs that are new to
   * the index are still added, pointing at it, as before.
   */
  private addPack(p: IndexPack): void {
    let n = this.packNumbers.get(p.id);
    const known = n !== undefined;
    if (n === undefined) {
      n = this.packIds.length;
      this.packIds.push(p.id);
      this.packNumbers.set(p.id, n);
      if (n >= this.packStart.length) {
        this.packStart = grow(this.packStart, n + 1);
        this.packRows = grow(this.packRows, n + 1);
      }
      this.packStart[n] = this.rows;
      this.packRows[n] = 0;
    }
    for (const b of p.blobs) {
      if (!parseId(b.id, this.probe, 0)) continue; // decodeIndex refuses such ids; callers building packs by hand get nothing
      const isTree = b.type === 'tree';
      const found = this.find(isTree);
      if (known && found >= 0) continue;
      const row = this.addRow(n, isTree, b);
      if (!known) this.packRows[n]++;
      if (found < 0) this.insert(row);
    }
  }

  private addRow(pack: number, isTree: boolean, b: PackedBlob): number {
    const r = this.rows++;
    if (r >= this.packOf.length) {
      const cap = this.packOf.length * 2;
      this.ids = grow(this.ids, cap * 32);
      this.packOf = grow(this.packOf, cap);
      this.tree = grow(this.tree, cap);
      this.nums = grow(this.nums, cap * 3);
    }
    this.ids.set(this.probe, r * 32);
    this.packOf[r] = pack;
    this.tree[r] = isTree ? 1 : 0;
    this.nums[3 * r] = b.offset;
    this.nums[3 * r + 1] = b.length;
    this.nums[3 * r + 2] = b.uncompressedLength ?? NO_LENGTH;
    return r;
  }

  /** The slot to start probing at for the id in `probe`. */
  private home(isTree: boolean): number {
    const p = this.probe;
    const a = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) ^ SEED_A;
    const b = (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) ^ SEED_B;
    const h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ (isTree ? 0x27d4eb2f : 0);
    return (h ^ (h >>> 15)) & (this.slots.length - 1);
  }

  /** The row of the blob whose id is in `probe`, or -1. */
  private find(isTree: boolean): number {
    const mask = this.slots.length - 1;
    for (let s = this.home(isTree); ; s = (s + 1) & mask) {
      const v = this.slots[s];
      if (v === 0) return -1;
      const r = v - 1;
      if (this.tree[r] === (isTree ? 1 : 0) && this.sameId(r)) return r;
    }
  }

  private sameId(r: number): boolean {
    const at = r * 32,
      ids = this.ids,
      p = this.probe;
    for (let i = 0; i < 32; i++) if (ids[at + i] !== p[i]) return false;
    return true;
  }

  /** Puts `row` (whose id is in `probe`) in the table, growing it to stay at most half full. */
  private insert(row: number): void {
    if (2 * (this.blobs + 1) > this.slots.length) this.rehash();
    const mask = this.slots.length - 1;
    let s = this.home(this.tree[row] === 1);
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = row + 1;
    this.blobs++;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    const mask = this.slots.length - 1;
    const keep = this.probe.slice();
    for (const v of old) {
      if (v === 0) continue;
      this.probe.set(this.ids.subarray((v - 1) * 32, v * 32));
      let s = this.home(this.tree[v - 1] === 1);
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.slots[s] = v;
    }
    this.probe.set(keep);
  }

  private rowOf(type: BlobType, id: string): number {
    if (!parseId(id, this.probe, 0)) return -1;
    return this.find(type === 'tree');
  }

  private location(r: number): BlobLocation {
    const b: BlobLocation = {
      id: Buffer.from(this.ids.buffer, r * 32, 32).toString('hex'),
      type: this.tree[r] ? 'tree' : 'data',
      offset: this.nums[3 * r],
      length: this.nums[3 * r + 1],
      pack: this.packIds[this.packOf[r]],
    };
    const u = this.nums[3 * r + 2];
    if (u !== NO_LENGTH) b.uncompressedLength = u;
    return b;
  }

  /** The blobs listed with pack number `p`, in the order they were listed. */
  packBlobs(p: number): PackedBlob[] {
    const out: PackedBlob[] = [];
    for (let r = this.packStart[p], end = r + this.packRows[p]; r < end; r++) {
      const { pack: _pack, ...b } = this.location(r);
      out.push(b);
    }
    return out;
  }

  /** Forgets every blob and pack (before loading all index files afresh). Only with nothing pending. */
  clear(): void {
    if (this.pending.length) throw new Error('MasterIndex.clear with packs not yet in an index file');
    this.packIds.length = 0;
    this.packNumbers.clear();
    this.rows = 0;
    this.blobs = 0;
    this.slots = new Uint32Array(2048);
  }

  /** Records a freshly stored pack; it is listed in the next index file written. */
  addStoredPack(p: IndexPack): void {
    this.addPack(p);
    this.pending.push(p);
    this.pendingBlobCount += p.blobs.length;
  }

  /** Takes the packs not yet in an index file (the caller writes them). */
  takePending(): IndexPack[] {
    const p = this.pending;
    this.pending = [];
    this.pendingBlobCount = 0;
    return p;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Blobs in the packs not yet in an index file. */
  get pendingBlobs(): number {
    return this.pendingBlobCount;
  }

  has(type: BlobType, id: string): boolean {
    return this.rowOf(type, id) >= 0;
  }

  lookup(type: BlobType, id: string): BlobLocation | undefined {
    const r = this.rowOf(type, id);
    return r < 0 ? undefined : this.location(r);
  }

  /** Plaintext size of a stored blob (from the index alone, as restic's restorer computes it). */
  plainSize(type: BlobType, id: string): number | undefined {
    const r = this.rowOf(type, id);
    if (r < 0) return undefined;
    const u = this.nums[3 * r + 2];
    return u !== NO_LENGTH ? u : this.nums[3 * r + 1] - 32;
  }

  get blobCount(): number {
    return this.blobs;
  }
}

/** A typed array of at least `n` elements holding `a`'s. */
function grow<T extends Uint8Array | Uint32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}
