/**
 * Prune (restic-format.md §12-13): find the blobs no snapshot uses, delete packs that hold only
 * those, repack partly used packs until the repository's unused share is at most `maxUnused`
 * (restic's rule, `choosePacks`), rewrite the index. The caller holds an exclusive lock. Order,
 * so that a kill at any moment leaves a repository that checks clean:
 *   1. repacked blobs go into new packs, and an index file for those packs is written;
 *   2. an index file (or several) for every kept pack is written;
 *   3. the old index files are deleted;
 *   4. the old packs (unused, repacked, and ones no index listed) are deleted.
 * Until 3 ends every pack an index names exists; after it, the old packs are only unreferenced
 * files, which check reports as a hint and the next prune deletes.
 */
import { HoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import { encodeIndex, type IndexPack } from '../format/index-file.js';
import type { BlobType, PackedBlob } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';
import { listSnapshots } from '../repository/snapshots.js';
import { mapLimit } from '../map-limit.js';
import { reachableBlobs } from './usage.js';

export interface PruneOptions {
  /**
   * How much unused data may stay after the prune: a share of the repository (0–1, default 0.05;
   * 1 = unlimited) or `{ bytes }`. Packs are repacked, most unused first, until the rest is within it.
   */
  maxUnused?: number | { bytes: number };
  signal?: AbortSignal;
  report?: Reporter;
}

export interface PrunePlan {
  snapshots: number;
  blobs: { used: number; unused: number };
  /** Packs that hold only unused blobs: deleted. */
  remove: string[];
  /** Partly used packs chosen by choosePacks: their used blobs are copied, then they are deleted. */
  repack: string[];
  /** Pack files no index lists (left by an interrupted backup or prune): deleted. */
  unindexed: string[];
  keep: number;
  bytes: {
    total: number;
    unused: number;
    /** Used bytes that repacking copies. */
    repack: number;
    /** What the repository shrinks by, estimated: removed + unindexed packs + the unused part of repacked ones. */
    freed: number;
  };
  /** Index files that step 3 deletes. */
  indexFiles: string[];
}

export interface PruneSummary extends PrunePlan {
  /** Bytes of the new packs written by repacking. */
  written: number;
  /** The repository's size change, measured: bytes of deleted packs minus bytes written. */
  freedActual: number;
}

const key = (b: { type: BlobType; id: string }) => `${b.type}:${b.id}`;

/** The live blobs of each pack to repack, kept beside a plan (out of its JSON form). */
const liveBlobs = new WeakMap<PrunePlan, Map<string, PackedBlob[]>>();

/**
 * Reads every snapshot's trees and the index and decides; changes nothing. Kind "corrupt" when a
 * snapshot needs data the repository lacks or a pack the index lists is missing: prune refuses then.
 */
export async function planPrune(repo: Repository, o: PruneOptions = {}): Promise<PrunePlan> {
  repo.enableReadAhead(READ_AHEAD_SLOTS); // trees sit together in tree packs
  const { snapshots, damaged } = await listSnapshots(repo, o.signal);
  if (damaged.length) throw refuse(`snapshot ${damaged[0].id.slice(0, 8)} cannot be read (${damaged[0].error})`);
  const used = new Set<string>();
  for (const s of snapshots) {
    try {
      await reachableBlobs(repo, [s.snapshot.tree], o.signal, used);
    } catch (e) {
      if (e instanceof HoardError && e.kind !== 'interrupted')
        throw refuse(`snapshot ${s.id.slice(0, 8)} needs data that cannot be read (${e.message})`);
      throw e;
    }
  }
  for (const k of used) {
    const [type, id] = k.split(':') as [BlobType, string];
    if (!repo.index.has(type, id))
      throw refuse(`${type} blob ${id.slice(0, 8)} is used by a snapshot but is in no index`);
  }
  const stored = new Map<string, number>();
  for await (const f of repo.backend.list('data', { signal: o.signal })) stored.set(f.name, f.size);
  const plan: PrunePlan = {
    snapshots: snapshots.length,
    blobs: { used: 0, unused: 0 },
    remove: [],
    repack: [],
    unindexed: [],
    keep: 0,
    bytes: { total: 0, unused: 0, repack: 0, freed: 0 },
    indexFiles: [],
  };
  const live = new Map<string, PackedBlob[]>();
  liveBlobs.set(plan, live);
  const usage: PackUsage[] = [];
  for (const [pack, blobs] of repo.index.packs) {
    throwIfAborted(o.signal);
    const size = stored.get(pack);
    if (size === undefined) throw refuse(`pack ${pack.slice(0, 8)} is listed in the index but missing`);
    const types = new Set(blobs.map((b) => b.type));
    const u: PackUsage = {
      pack,
      usedBlobs: 0,
      used: 0,
      unused: 0,
      size,
      kind: types.size > 1 ? 'mixed' : types.has('tree') ? 'tree' : 'data',
    };
    const liveHere: PackedBlob[] = [];
    for (const b of blobs) {
      // a blob stored twice counts as used only where the index points (the other copy is a duplicate)
      if (used.has(key(b)) && repo.index.lookup(b.type, b.id)?.pack === pack) {
        u.used += b.length;
        u.usedBlobs++;
        plan.blobs.used++;
        liveHere.push(b);
      } else {
        u.unused += b.length;
        plan.blobs.unused++;
      }
    }
    live.set(pack, liveHere);
    usage.push(u);
    plan.bytes.total += size;
    plan.bytes.unused += u.unused;
  }
  const choice = choosePacks(usage, o.maxUnused ?? 0.05, repo.packSize);
  plan.remove = choice.remove;
  plan.repack = choice.repack;
  plan.keep = usage.length - choice.remove.length - choice.repack.length;
  const removing = new Set(choice.remove),
    repacking = new Set(choice.repack);
  for (const u of usage) {
    if (removing.has(u.pack)) plan.bytes.freed += u.size;
    else if (repacking.has(u.pack)) {
      plan.bytes.repack += u.used;
      plan.bytes.freed += u.unused;
    } else live.delete(u.pack);
  }
  for (const [pack, size] of stored) {
    if (!repo.index.packs.has(pack)) {
      plan.unindexed.push(pack);
      plan.bytes.total += size;
      plan.bytes.freed += size;
    }
  }
  for await (const f of repo.backend.list('index', { signal: o.signal })) plan.indexFiles.push(f.name);
  return plan;
}

/**
 * How much of a pack snapshots use: blobs and bytes of used blobs, bytes of unused ones, and the
 * pack file's size (which also holds its header); `kind` is the type of its blobs ("mixed" for
 * both: restic writes none, but older tools did).
 */
export interface PackUsage {
  pack: string;
  usedBlobs: number;
  used: number;
  unused: number;
  size: number;
  kind: 'data' | 'tree' | 'mixed';
}

/**
 * Which packs to delete and which to repack, by restic's rule (restic 0.14 `prune`): packs no
 * snapshot uses are deleted; partly used packs are repacked when they hold trees (walks read every
 * tree, so unused trees cost every later command) or are tiny (under 1/25 of a full pack), and
 * otherwise the most unused first until the unused bytes left are below `maxUnused`: a share s of
 * the repository allows used × s / (1 − s) unused bytes. Tiny fully used packs (each backup ends
 * with some) are merged once there are 10 of them, and mixed packs always. Every other pack is
 * kept. As restic does, a pack's header counts as used when packs are ranked, and limits are
 * whole bytes.
 */
export function choosePacks(
  packs: PackUsage[],
  maxUnused: number | { bytes: number },
  packSize: number,
): { remove: string[]; repack: string[] } {
  const remove: string[] = [];
  const candidates: PackUsage[] = [];
  const tinyFull: PackUsage[] = [];
  const tinyBelow = Math.floor(packSize / 25);
  const tiny = (p: PackUsage) => p.size < tinyBelow;
  let used = 0,
    unusedLeft = 0;
  for (const p of packs) {
    used += p.used;
    if (p.usedBlobs === 0) remove.push(p.pack);
    else if (p.unused > 0 || p.kind === 'mixed') {
      candidates.push(p);
      unusedLeft += p.unused;
    } else if (tiny(p)) tinyFull.push(p);
  }
  if (tinyFull.length >= 10) candidates.push(...tinyFull); // fewer are not worth a rewrite (and one would be rewritten forever)
  const share = typeof maxUnused === 'number' ? maxUnused : undefined;
  const allowed =
    share === undefined
      ? (maxUnused as { bytes: number }).bytes
      : share >= 1
        ? Infinity
        : Math.floor((used * share) / (1 - share));
  // trees and mixed packs first, then tiny packs, then by unused share: unused / (size − unused), compared as a·d > c·b
  const rank = (p: PackUsage) => (p.kind !== 'data' ? 0 : tiny(p) ? 1 : 2);
  candidates.sort((a, b) => rank(a) - rank(b) || b.unused * (a.size - a.unused) - a.unused * (b.size - b.unused));
  const repack: string[] = [];
  for (const p of candidates) {
    if (p.kind === 'data' && !tiny(p) && unusedLeft < allowed) continue;
    repack.push(p.pack);
    unusedLeft -= p.unused;
  }
  return { remove, repack };
}

function refuse(why: string): HoardError {
  return new HoardError('corrupt', `prune refuses to run: ${why}; nothing was deleted`, {
    hint: 'run `hoard check` (and repair the repository) first',
  });
}

/**
 * Blob copies in flight during a repack, and read-ahead windows kept. Checks stay on this thread:
 * decoder threads were no faster here (reading dominates) and cost about 40 MB.
 */
const COPIES_IN_FLIGHT = 16;
const READ_AHEAD_SLOTS = 2;

/** Blobs per index file (restic keeps index files small enough to load piecemeal). */
const BLOBS_PER_INDEX = 50_000;

/** Carries out a plan made on this repository under the same exclusive lock. */
export async function executePrune(repo: Repository, plan: PrunePlan, o: PruneOptions = {}): Promise<PruneSummary> {
  const report = o.report ?? silent;
  const repacked = new Set(plan.repack);
  const removed = new Set(plan.remove);
  const live = liveBlobs.get(plan);
  if (!live) throw new HoardError('internal', 'executePrune needs a plan from planPrune on the same repository');
  if (!plan.remove.length && !plan.repack.length && !plan.unindexed.length)
    return { ...plan, written: 0, freedActual: 0 }; // nothing to do: leave the index as it is
  repo.enableReadAhead(READ_AHEAD_SLOTS); // one read serves a run of neighbouring blobs
  const before = repo.stats.bytesStored;
  const oldPacks = new Set(repo.index.packs.keys());
  // 1. copy the live blobs of repacked packs into new packs (several at once: reads and checks
  // overlap; with read-ahead on, one read serves a run of neighbours); flush writes their index file
  let done = 0;
  const left = new Map(plan.repack.map((p) => [p, live.get(p)?.length ?? 0]));
  const copies = plan.repack.flatMap((pack) => (live.get(pack) ?? []).map((b) => ({ pack, b })));
  try {
    await mapLimit(copies, COPIES_IN_FLIGHT, async ({ pack, b }) => {
      await repo.copyBlob(b.type, b.id, o.signal);
      const n = left.get(pack)! - 1;
      left.set(pack, n);
      if (n === 0) report({ type: 'check.progress', phase: 'repack', done: ++done, total: plan.repack.length });
    });
  } catch (e) {
    // nothing is deleted; uploads already started finish (and are indexed) before the caller lets the lock go
    await repo.abandon().catch(() => {});
    throw e;
  }
  await repo.flush();
  const written = repo.stats.bytesStored - before;
  // 2. an index for every kept pack (all their blobs: a pack's index entry lists the whole pack)
  const kept: IndexPack[] = [];
  for (const [pack, blobs] of repo.index.packs) {
    if (removed.has(pack) || repacked.has(pack) || !oldPacks.has(pack)) continue; // new packs are indexed already
    kept.push({ id: pack, blobs: blobs as PackedBlob[] });
  }
  for (const file of chunkPacks(kept)) await repo.saveUnpacked('index', encodeIndex({ packs: file }));
  // 3. the old index files
  for (const f of plan.indexFiles) await repo.backend.remove({ type: 'index', name: f });
  // 4. the old packs
  let deleted = 0;
  for (const pack of [...plan.remove, ...plan.repack, ...plan.unindexed]) {
    throwIfAborted(o.signal);
    const size = await repo.backend.stat({ type: 'data', name: pack }).then(
      (s) => s.size,
      () => 0,
    );
    await repo.backend.remove({ type: 'data', name: pack });
    deleted += size;
  }
  return { ...plan, written, freedActual: deleted - written };
}

/** Splits packs into index files of at most BLOBS_PER_INDEX blobs (a pack is never split). */
function chunkPacks(packs: IndexPack[]): IndexPack[][] {
  const out: IndexPack[][] = [];
  let cur: IndexPack[] = [];
  let n = 0;
  for (const p of packs) {
    if (n > 0 && n + p.blobs.length > BLOBS_PER_INDEX) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(p);
    n += p.blobs.length;
  }
  if (cur.length) out.push(cur);
  return out;
}
