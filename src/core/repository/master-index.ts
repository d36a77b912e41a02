/**
 * The in-memory view of all index files: blob (type, id) → where it is stored. Not thread-safe
 * across processes; within one process all writers go through the Repository that owns it.
 */
import type { BlobType, PackedBlob } from '../format/pack.js';
import type { IndexFile, IndexPack } from '../format/index-file.js';

/** Where one blob is stored. */
export interface BlobLocation extends PackedBlob {
  pack: string;
}

export class MasterIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** Pack id → its blobs, for check and prune. */
  readonly packs = new Map<string, PackedBlob[]>();
  /** Packs that are stored but not yet written to an index file. */
  private pending: IndexPack[] = [];

  private static key(type: BlobType, id: string): string {
    return type === 'tree' ? `t${id}` : `d${id}`;
  }

  /** Adds every pack of a loaded index file. Duplicate blobs keep the first location seen. */
  addIndexFile(idx: IndexFile): void {
    for (const p of idx.packs) this.addPack(p);
  }

  private addPack(p: IndexPack): void {
    if (!this.packs.has(p.id)) this.packs.set(p.id, p.blobs);
    for (const b of p.blobs) {
      const k = MasterIndex.key(b.type, b.id);
      if (!this.blobs.has(k)) this.blobs.set(k, { ...b, pack: p.id });
    }
  }

  /** Forgets every blob and pack (before loading all index files afresh). Only with nothing pending. */
  clear(): void {
    if (this.pending.length) throw new Error('MasterIndex.clear with packs not yet in an index file');
    this.blobs.clear();
    this.packs.clear();
  }

  /** Records a freshly stored pack; it is listed in the next index file written. */
  addStoredPack(p: IndexPack): void {
    this.addPack(p);
    this.pending.push(p);
  }

  /** Takes the packs not yet in an index file (the caller writes them). */
  takePending(): IndexPack[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  has(type: BlobType, id: string): boolean {
    return this.blobs.has(MasterIndex.key(type, id));
  }

  lookup(type: BlobType, id: string): BlobLocation | undefined {
    return this.blobs.get(MasterIndex.key(type, id));
  }

  /** Plaintext size of a stored blob (from the index alone, as restic's restorer computes it). */
  plainSize(type: BlobType, id: string): number | undefined {
    const b = this.lookup(type, id);
    return b === undefined ? undefined : b.uncompressedLength ?? b.length - 32;
  }

  get blobCount(): number {
    return this.blobs.size;
  }
}
