/**
 * Read-ahead for blob loads: one read of up to `windowBytes` of a pack serves the neighbouring
 * blobs too. Restores and dumps ask for blobs mostly in the order backups stored them, so a few
 * large reads replace thousands of small ones. Windows end on blob boundaries inside the pack's
 * data region (never the header). The most recent `slots` windows are kept; concurrent callers
 * share a window being read. A failed window read is not cached: the caller falls back to
 * reading its blob alone, so damage elsewhere in a window does not fail good blobs.
 */
import type { Backend } from '../storage/backend.js';
import type { PackedBlob } from '../format/pack.js';
import type { BlobLocation, MasterIndex } from './master-index.js';

interface Window {
  pack: string;
  start: number;
  end: number;
  bytes: Promise<Buffer>;
}

export class PackWindows {
  private readonly windows: Window[] = [];
  private readonly extents = new Map<string, PackedBlob[]>();

  constructor(
    private readonly backend: Backend,
    private readonly index: MasterIndex,
    private readonly windowBytes = 4 << 20,
    private readonly slots = 8,
  ) {}

  /** The stored bytes of the blob at `loc` (not yet verified: the caller decodes them). */
  async read(loc: BlobLocation, signal?: AbortSignal): Promise<Buffer> {
    const end = loc.offset + loc.length;
    let w = this.find(loc.pack, loc.offset, end);
    if (!w) {
      w = this.open(loc.pack, loc, signal);
      // Reading on: the next window of the pack is requested now, so sequential readers do not stall.
      const next = this.blobAt(loc.pack, w.end);
      if (next && !this.find(loc.pack, next.offset, next.offset + next.length)) this.open(loc.pack, next, signal);
    }
    const buf = await w.bytes;
    return buf.subarray(loc.offset - w.start, end - w.start);
  }

  private find(pack: string, start: number, end: number): Window | undefined {
    return this.windows.find((x) => x.pack === pack && x.start <= start && end <= x.end);
  }

  /** Starts reading the window that begins with the blob `first`; keeps the newest `slots` windows. */
  private open(pack: string, first: { offset: number; length: number }, signal?: AbortSignal): Window {
    const wEnd = this.windowEnd(pack, first);
    const bytes = this.backend.load(
      { type: 'data', name: pack },
      { offset: first.offset, length: wEnd - first.offset, signal },
    );
    const w = { pack, start: first.offset, end: wEnd, bytes };
    this.windows.push(w);
    if (this.windows.length > this.slots) this.windows.shift();
    bytes.catch(() => {
      const i = this.windows.indexOf(w);
      if (i >= 0) this.windows.splice(i, 1);
    });
    return w;
  }

  /** The blob of `pack` that starts at `offset`, if any. */
  private blobAt(pack: string, offset: number): PackedBlob | undefined {
    const blobs = this.sortedBlobs(pack);
    const i = this.firstAtOrAfter(blobs, offset);
    return blobs[i]?.offset === offset ? blobs[i] : undefined;
  }

  private firstAtOrAfter(blobs: PackedBlob[], offset: number): number {
    let lo = 0;
    let hi = blobs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (blobs[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Where a window starting at `loc` ends: the end of the last blob that fits in windowBytes (at least loc's own). */
  private windowEnd(pack: string, loc: { offset: number; length: number }): number {
    const blobs = this.sortedBlobs(pack);
    const limit = loc.offset + Math.max(this.windowBytes, loc.length);
    let end = loc.offset + loc.length;
    for (let i = this.firstAtOrAfter(blobs, loc.offset); i < blobs.length; i++) {
      const b = blobs[i];
      if (b.offset > end) break; // a gap: stop at contiguous data
      const e = b.offset + b.length;
      if (e > limit) break;
      if (e > end) end = e;
    }
    return end;
  }

  private sortedBlobs(pack: string): PackedBlob[] {
    let s = this.extents.get(pack);
    if (!s) {
      s = [...(this.index.packs.get(pack) ?? [])].sort((a, b) => a.offset - b.offset);
      this.extents.set(pack, s);
    }
    return s;
  }
}
