/**
 * A restic-format repository opened with a password: blobs, packs, index, unpacked files.
 * One Repository instance per process and repository; its methods may be called concurrently
 * (saveBlob deduplicates in-flight blobs). Writers must call flush() before writing a snapshot
 * (restic-format.md §13: packs, then index, then snapshot).
 */
import { HoardError, isHoardError } from '../errors.js';
import { type Key, open, seal } from '../crypto/crypto.js';
import { hashId } from '../crypto/id.js';
import type { Backend, FileType, Handle } from '../storage/backend.js';
import type { RepoConfig } from '../format/config.js';
import type { CompressionMode } from '../format/compression.js';
import type { BlobType } from '../format/pack.js';
import { decodeIndex, encodeIndex } from '../format/index-file.js';
import { decodeUnpacked, encodeUnpacked } from '../format/unpacked.js';
import { type BlobLocation, MasterIndex } from './master-index.js';
import { PackWindows } from './pack-windows.js';
import { mapLimit } from '../map-limit.js';
import { type BlobEncoder, blobDamage, checkBlobSize, createInlineEncoder, decodeBlob } from './blob-codec.js';
import { createEncoderPool } from './encoder-pool.js';
import { type BlobDecoder, createDecoderPool } from './decoder-pool.js';
import { BufferPool } from './encoder-batch.js';
import { DEFAULT_PACK_SIZE, type FinishedPack, PackWriter } from './pack-writer.js';

/**
 * An index file is written once this many blobs wait for one (restic's own limit): one file of the
 * 180,000 blobs of 8 packs of small files took over 100 MB to encode at the end of a backup.
 */
const INDEX_MAX_BLOBS = 50_000;

export interface RepositoryOptions {
  compression?: CompressionMode;
  packSize?: number;
  /** Write an index file after this many new packs (so an interrupted backup leaves reusable data). */
  indexEvery?: number;
  encoder?: BlobEncoder;
  /** Worker threads for compression and encryption (0 = encode on the calling thread). */
  workers?: number;
  /** Pack uploads that may run at once. */
  uploads?: number;
  /**
   * Bring the index up to date whenever a lock is taken, and refuse to use it before (the handles
   * the app layer opens for commands: see `indexUnderLock` below).
   */
  indexUnderLock?: boolean;
}

/** Counters of what a writer added (for summaries). */
export interface WriteStats {
  blobsAdded: number;
  dataBlobs: number;
  treeBlobs: number;
  bytesAdded: number; // plaintext bytes of new blobs
  bytesStored: number; // pack bytes written
  packsWritten: number;
}

export class Repository {
  private readonly masterIndex = new MasterIndex();
  /** Index files whose content the in-memory index holds (loaded, or written by this process). */
  private readonly indexFiles = new Set<string>();
  private indexLoaded = false;
  /**
   * When set, the index is brought up to date whenever a lock is taken (acquireLock does it while
   * the lock settles), as restic reads the index only under a lock: an index read before the lock
   * could predate a prune that ran meanwhile. Until then, using the index is a programming error.
   */
  readonly indexUnderLock: boolean;
  readonly stats: WriteStats = {
    blobsAdded: 0,
    dataBlobs: 0,
    treeBlobs: 0,
    bytesAdded: 0,
    bytesStored: 0,
    packsWritten: 0,
  };
  readonly compression: CompressionMode;
  /** Inside a dry-run `writing` session: saveBlob only counts what it would store and flush writes nothing. */
  private dryRunMode = false;
  /** Writing sessions running on this handle (they may overlap only in one mode). */
  private sessions = 0;
  /** Set when a dry run failed: the handle stays dry (see `writing`). */
  private dryAfterFailure = false;
  private readonly writers: Record<BlobType, PackWriter>;
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** Keys of blobs in a pack not yet in the index (being filled or uploaded): stored already, for dedup. */
  private readonly packed = new Set<string>();
  /** Keys a dry run has counted (kept apart from `packed`: a later real run must store them). */
  private readonly counted = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  private uploadError: unknown;
  private readonly encoder: BlobEncoder;
  private readonly maxUploads: number;
  private readonly indexEvery: number;
  private windows?: PackWindows;
  private decoder?: BlobDecoder;
  private readonly packBuffers = new BufferPool(2, DEFAULT_PACK_SIZE + (1 << 20));

  /** The size new packs are cut at (prune calls packs far below it tiny). */
  readonly packSize: number;

  constructor(
    readonly backend: Backend,
    readonly key: Key,
    readonly config: RepoConfig,
    readonly keyId: string,
    opts: RepositoryOptions = {},
  ) {
    this.indexUnderLock = opts.indexUnderLock === true;
    this.compression = opts.compression ?? 'auto';
    const ps = (this.packSize = opts.packSize ?? DEFAULT_PACK_SIZE);
    // pack buffers are reused once stored: a fresh 16 MiB buffer costs thousands of page faults
    this.writers = {
      data: new PackWriter('data', key, ps, this.packBuffers),
      tree: new PackWriter('tree', key, ps, this.packBuffers),
    };
    this.encoder = opts.encoder ?? (opts.workers ? createEncoderPool(key, opts.workers) : createInlineEncoder(key));
    this.maxUploads = opts.uploads ?? 2;
    this.indexEvery = opts.indexEvery ?? 8;
  }

  get version(): number {
    return this.config.version;
  }

  /** The in-memory index: every loaded index file plus what this process stored. */
  get index(): MasterIndex {
    if (this.indexUnderLock && !this.indexLoaded)
      throw new HoardError('internal', 'the index was used before a lock was taken');
    return this.masterIndex;
  }

  /**
   * Brings the in-memory index up to date with the stored index files: loads the ones it does not
   * hold yet (four at a time); when one it holds is gone (a prune rewrote the index), starts afresh
   * from all of them. Kind "corrupt" naming the index file that fails to load.
   */
  async loadIndex(signal?: AbortSignal): Promise<void> {
    const names: string[] = [];
    for await (const f of this.backend.list('index', { signal })) names.push(f.name);
    const now = new Set(names);
    if ([...this.indexFiles].some((n) => !now.has(n))) {
      this.masterIndex.clear();
      this.indexFiles.clear();
    }
    const load = async (name: string) => {
      const json = await this.loadUnpacked('index', name);
      try {
        return decodeIndex(json, this.version);
      } catch (e) {
        throw new HoardError('corrupt', `index ${name.slice(0, 8)}: ${(e as Error).message}`, {
          hint: 'run `hoard check` to see the extent of the damage',
          cause: e,
        });
      }
    };
    const todo = names.filter((n) => !this.indexFiles.has(n));
    const loaded = await mapLimit(todo, 4, load);
    // added in listing order, so that a blob stored twice resolves the same way on every load
    todo.forEach((n, i) => {
      this.masterIndex.addIndexFile(loaded[i]);
      this.indexFiles.add(n);
    });
    this.indexLoaded = true;
  }

  /** True when the index (loaded, plus what this process stored) has the blob. */
  hasBlob(type: BlobType, id: string): boolean {
    return this.index.has(type, id);
  }

  /** True inside a dry-run writing session, and for good once a dry run failed on this handle. */
  get dryRun(): boolean {
    return this.dryRunMode || this.dryAfterFailure;
  }

  /**
   * Runs one operation's writes: with `dryRun` (backup --dry-run), saveBlob only counts what it
   * would store and flush writes nothing, until `work` settles. Sessions on one handle may overlap
   * only in the same mode (kind "internal" otherwise); when the last ends, the handle writes for
   * real again (a later real run stores what dry runs counted). A dry run that fails leaves the
   * handle dry for good: work it started may still be saving blobs, and they must not be stored.
   * What dry runs counted stays counted for the handle's life, as a real run's blobs stay stored.
   */
  async writing<T>(o: { dryRun?: boolean }, work: () => Promise<T>): Promise<T> {
    const dry = o.dryRun === true;
    if ((this.sessions > 0 && dry !== this.dryRunMode) || (!dry && this.dryAfterFailure))
      throw new HoardError('internal', 'a dry run and a real write cannot share a repository handle at once');
    this.dryRunMode = dry;
    this.sessions++;
    try {
      return await work();
    } catch (e) {
      if (dry) this.dryAfterFailure = true;
      throw e;
    } finally {
      if (--this.sessions === 0) this.dryRunMode = false;
    }
  }

  /**
   * Stores a blob unless a blob with that id is already stored or being stored.
   * Returns true when this call added it. `id` must be the SHA-256 of `data` (the caller hashed it).
   * `data` may be given as the parts it spans (a chunk of a stream across reads): they are joined
   * only where the encoder needs them joined.
   */
  async saveBlob(type: BlobType, id: string, data: Buffer | Buffer[]): Promise<boolean> {
    if (this.uploadError) throw this.uploadError;
    const k = type[0] + id;
    if (this.index.has(type, id) || this.packed.has(k) || (this.dryRun && this.counted.has(k))) return false;
    const running = this.inflight.get(k);
    if (running) {
      await running;
      return false;
    }
    const parts = Array.isArray(data) ? data : [data];
    const p = this.storeBlob(
      type,
      id,
      parts,
      parts.reduce((n, b) => n + b.length, 0),
    );
    this.inflight.set(k, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(k);
    }
  }

  private async storeBlob(type: BlobType, id: string, parts: Buffer[], size: number): Promise<boolean> {
    if (this.dryRun) {
      this.counted.add(type[0] + id); // counted once, as a real run stores it once
      this.stats.blobsAdded++;
      this.stats.bytesAdded += size;
      if (type === 'tree') this.stats.treeBlobs++;
      else this.stats.dataBlobs++;
      return true;
    }
    const mode = type === 'tree' && this.compression === 'off' ? 'auto' : this.compression;
    const enc = await this.encoder.encode(parts, size, this.version >= 2 ? mode : 'off');
    if (this.index.has(type, id) || this.packed.has(type[0] + id)) return false;
    this.packed.add(type[0] + id);
    this.stats.blobsAdded++;
    if (type === 'tree') this.stats.treeBlobs++;
    else this.stats.dataBlobs++;
    this.stats.bytesAdded += size;
    const w = this.writers[type];
    if (w.add(id, enc)) await this.upload(w.finish());
    return true;
  }

  /**
   * Copies a stored blob, verified first, into a new pack although the index already has it (prune's
   * repack). The sealed bytes are copied as they are: no re-encryption. Kind "corrupt" when the blob
   * fails to verify (nothing damaged is ever copied).
   */
  async copyBlob(type: BlobType, id: string, signal?: AbortSignal): Promise<void> {
    if (this.uploadError) throw this.uploadError;
    const { stored, loc } = await this.loadStoredBlob(type, id, signal);
    try {
      if (this.decoder && type === 'data') await this.decoder.decode(stored, id, loc.uncompressedLength);
      else decodeBlob(this.key, stored, id, loc.uncompressedLength);
    } catch (e) {
      if (isHoardError(e, 'interrupted')) throw e;
      throw blobDamage(loc.pack, id, e);
    }
    if (this.uploadError) throw this.uploadError;
    const w = this.writers[type];
    if (w.add(id, { sealed: stored, uncompressedLength: loc.uncompressedLength })) await this.upload(w.finish());
  }

  /** Uploads a finished pack; waits while too many uploads run (backpressure). */
  private async upload(p: FinishedPack): Promise<void> {
    while (this.uploads.size >= this.maxUploads) await Promise.race(this.uploads);
    if (this.uploadError) throw this.uploadError;
    const task = (async () => {
      await this.backend.save({ type: 'data', name: p.id }, p.bytes);
      this.packBuffers.give(p.bytes.buffer as ArrayBuffer);
      this.stats.bytesStored += p.bytes.length;
      this.stats.packsWritten++;
      this.index.addStoredPack({ id: p.id, blobs: p.blobs });
      for (const b of p.blobs) this.packed.delete(b.type[0] + b.id);
      if (this.index.pendingCount >= this.indexEvery || this.index.pendingBlobs >= INDEX_MAX_BLOBS)
        await this.writeIndex();
    })().catch((e) => {
      this.uploadError ??= e;
    });
    this.uploads.add(task);
    void task.finally(() => this.uploads.delete(task));
  }

  /**
   * Finishes partial packs, waits for uploads and writes an index for every stored pack.
   * After it resolves, every blob saved so far is durable and indexed.
   */
  async flush(): Promise<void> {
    if (this.dryRun) return;
    for (const w of Object.values(this.writers)) if (w.count > 0) await this.upload(w.finish());
    await this.settleUploads();
    if (this.uploadError) throw this.uploadError;
    await this.writeIndex();
  }

  /**
   * After a failure: waits for running uploads and indexes the packs that did complete, so that a
   * later backup reuses their data. Drops blobs still buffered. Never throws.
   */
  async abandon(): Promise<void> {
    await this.settleUploads();
    try {
      await this.writeIndex();
    } catch {
      /* the failure that brought us here is reported instead */
    }
  }

  private async settleUploads(): Promise<void> {
    while (this.uploads.size > 0) await Promise.allSettled([...this.uploads]);
  }

  private async writeIndex(): Promise<void> {
    const packs = this.index.takePending();
    if (packs.length === 0) return;
    this.indexFiles.add(await this.saveUnpacked('index', encodeIndex({ packs })));
  }

  /**
   * Turns on read-ahead for loadBlob (restore, dump): neighbouring blobs come with one pack read.
   * Costs up to `slots` windows of 4 MiB of memory (the first call's `slots` stays).
   */
  enableReadAhead(slots = 8): void {
    this.windows ??= new PackWindows(this.backend, this.index, 4 << 20, slots);
  }

  /**
   * Decodes the data blobs loadBlob reads on `workers` threads (dump and restores of big content, which read
   * several blobs ahead), so that decoding runs beside the reading and writing. Threads start with
   * the first blob; 0 keeps decoding on the calling thread.
   */
  enableParallelDecode(workers: number): void {
    if (workers > 0) this.decoder ??= createDecoderPool(this.key, workers);
  }

  /** Loads and verifies a blob; "not-found" if the index lacks it, "corrupt" if it fails to verify. */
  async loadBlob(type: BlobType, id: string, signal?: AbortSignal): Promise<Buffer> {
    const { stored, loc } = await this.loadStoredBlob(type, id, signal);
    try {
      // trees stay on this thread: they are small, and a walk waits for each one
      return this.decoder && type === 'data'
        ? await this.decoder.decode(stored, id, loc.uncompressedLength)
        : decodeBlob(this.key, stored, id, loc.uncompressedLength);
    } catch (e) {
      if (isHoardError(e, 'interrupted')) throw e;
      throw blobDamage(loc.pack, id, e);
    }
  }

  /**
   * A blob's bytes as stored in its pack, not yet verified (for decoding elsewhere, e.g. on a worker
   * thread, with decodeBlob and blobDamage from blob-codec.ts). Fails like loadBlob when the index or pack lacks it.
   */
  async loadStoredBlob(
    type: BlobType,
    id: string,
    signal?: AbortSignal,
  ): Promise<{ stored: Buffer; loc: BlobLocation }> {
    const loc = this.index.lookup(type, id);
    if (!loc)
      throw new HoardError('not-found', `${type} blob ${id.slice(0, 8)} is not in the index`, {
        hint: 'run `hoard check`',
      });
    checkBlobSize(type, loc);
    if (this.windows) {
      try {
        return { stored: await this.windows.read(loc, signal), loc };
      } catch {
        /* read it alone below, for a precise error */
      }
    }
    try {
      return {
        stored: await this.backend.load(
          { type: 'data', name: loc.pack },
          { offset: loc.offset, length: loc.length, signal },
        ),
        loc,
      };
    } catch (e) {
      if (isHoardError(e, 'not-found'))
        throw new HoardError(
          'corrupt',
          `pack ${loc.pack.slice(0, 8)} holding ${type} blob ${id.slice(0, 8)} is missing`,
          { context: { pack: loc.pack }, cause: e },
        );
      throw e;
    }
  }

  /** Encrypts (and in v2 compresses) JSON and stores it as an unpacked file; returns its id. */
  async saveUnpacked(type: Exclude<FileType, 'config' | 'key' | 'data'>, json: string): Promise<string> {
    const sealed = seal(this.key, encodeUnpacked(json, this.version));
    const id = hashId(sealed);
    await this.backend.save({ type, name: id }, sealed);
    return id;
  }

  /** Loads, verifies (name = hash), decrypts and decodes an unpacked file; kind "corrupt" naming it. */
  async loadUnpacked(
    type: Exclude<FileType, 'config' | 'key' | 'data'>,
    id: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const h: Handle = { type, name: id };
    const raw = await this.backend.load(h, { signal });
    try {
      if (hashId(raw) !== id) throw new HoardError('corrupt', 'content does not match its name');
      return decodeUnpacked(open(this.key, raw), this.version);
    } catch (e) {
      throw new HoardError('corrupt', `${type} ${id.slice(0, 8)}: ${(e as Error).message}`, {
        context: { type, id },
        cause: e,
      });
    }
  }

  /** Releases worker threads. Does not flush. */
  /** Stops the encoder threads and closes the backend's open files (the backend stays usable: it reopens on demand). */
  async close(): Promise<void> {
    await this.encoder.close();
    await this.decoder?.close();
    await this.backend.close();
  }
}
