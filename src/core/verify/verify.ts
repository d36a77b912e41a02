/**
 * The first two verification tiers of one snapshot:
 * - quick: every tree loads, every blob it needs is in the index, and every pack holding them exists
 *   with the size the index implies;
 * - read-back: quick, then every data blob is read, decrypted and hashed (or those in a sampled
 *   share of the packs, with `subset`).
 * Damage is reported as checks plus the paths of the files that need damaged or missing data; it
 * is never thrown. The restore drill (tier three) is in src/app, as it needs databases.
 */
import { HoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import { packSizeFromBlobs } from '../format/pack.js';
import { decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/snapshots.js';
import type { VerificationCheck } from './records.js';

export interface VerifyOptions {
  level: 'quick' | 'read-back';
  /** read-back: the share of packs to read, 0 < subset ≤ 1 (default 1). */
  subset?: number;
  /** Random source for the sample (0 ≤ x < 1). */
  random?: () => number;
  /** Pack sizes as stored (from one listing shared by several snapshots). */
  storedPacks?: Map<string, number>;
  signal?: AbortSignal;
  report?: Reporter;
}

export interface SnapshotCheck {
  ok: boolean;
  checks: VerificationCheck[];
  /** Files (paths in the snapshot) that need damaged or missing data; "/" when a tree is lost. */
  affected: string[];
  /** Damaged or missing packs. */
  packs: string[];
  blobs: number;
  blobsRead: number;
  bytesRead: number;
}

/** The stored size of every pack. */
export async function storedPackSizes(repo: Repository, signal?: AbortSignal): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const f of repo.backend.list('data', { signal })) m.set(f.name, f.size);
  return m;
}

/** Picks a share of packs: the same pack is always in or out for one `random` draw set. */
function sampler(subset: number, random: () => number): (pack: string) => boolean {
  const chosen = new Map<string, boolean>();
  return (pack) => {
    let v = chosen.get(pack);
    if (v === undefined) chosen.set(pack, (v = random() < subset));
    return v;
  };
}

/** Verifies one snapshot at the given level. */
export async function verifySnapshotData(repo: Repository, e: SnapshotEntry, o: VerifyOptions): Promise<SnapshotCheck> {
  const report = o.report ?? silent;
  const stored = o.storedPacks ?? (await storedPackSizes(repo, o.signal));
  const out: SnapshotCheck = { ok: true, checks: [], affected: [], packs: [], blobs: 0, blobsRead: 0, bytesRead: 0 };
  const badPacks = new Set<string>();
  const packOk = (pack: string): boolean => {
    const size = stored.get(pack);
    const want = packSizeFromBlobs(repo.index.packs.get(pack) ?? []);
    const ok = size !== undefined && size === want;
    if (!ok && !badPacks.has(pack)) {
      badPacks.add(pack);
      out.checks.push({
        name: 'pack',
        ok: false,
        message:
          size === undefined
            ? `pack ${pack.slice(0, 8)} is missing`
            : `pack ${pack.slice(0, 8)} has ${size} bytes, the index says ${want}`,
      });
    }
    return ok;
  };
  const pick =
    o.level === 'read-back' && o.subset !== undefined && o.subset < 1
      ? sampler(o.subset, o.random ?? Math.random)
      : () => true;
  if (o.level === 'read-back') repo.enableReadAhead();
  const affected = new Set<string>();
  const stack: { tree: string; path: string }[] = [{ tree: e.snapshot.tree, path: '' }];
  const seenTrees = new Set<string>();
  while (stack.length) {
    throwIfAborted(o.signal);
    const { tree, path } = stack.pop()!;
    let nodes: ReturnType<typeof decodeTree>;
    try {
      const loc = repo.index.lookup('tree', tree);
      if (!loc) throw new HoardError('not-found', `tree ${tree.slice(0, 8)} is in no index`);
      packOk(loc.pack);
      nodes = decodeTree(await repo.loadBlob('tree', tree, o.signal));
    } catch (err) {
      if (err instanceof HoardError && err.kind === 'interrupted') throw err;
      out.checks.push({
        name: 'tree',
        ok: false,
        message: `the folder ${path || '/'} cannot be read: ${(err as Error).message}`,
      });
      affected.add(path || '/');
      continue;
    }
    for (const n of nodes) {
      const p = `${path}/${n.name.toString()}`;
      if (n.type === 'dir' && n.subtree) {
        if (!seenTrees.has(`${n.subtree}${p}`)) {
          seenTrees.add(`${n.subtree}${p}`);
          stack.push({ tree: n.subtree, path: p });
        }
        continue;
      }
      for (const id of n.content ?? []) {
        out.blobs++;
        const loc = repo.index.lookup('data', id);
        if (!loc) {
          out.checks.push({ name: 'blob', ok: false, message: `${p}: data blob ${id.slice(0, 8)} is in no index` });
          affected.add(p);
          continue;
        }
        if (!packOk(loc.pack)) {
          affected.add(p);
          continue;
        }
        if (o.level !== 'read-back' || !pick(loc.pack)) continue;
        try {
          await repo.loadBlob('data', id, o.signal);
          out.blobsRead++;
          out.bytesRead += loc.length;
        } catch (err) {
          if (err instanceof HoardError && err.kind === 'interrupted') throw err;
          badPacks.add(loc.pack);
          out.checks.push({ name: 'read-back', ok: false, message: `${p}: ${(err as Error).message}` });
          affected.add(p);
        }
      }
    }
    report({ type: 'check.progress', phase: o.level, done: out.blobsRead, total: out.blobs });
  }
  out.affected = [...affected].sort();
  out.packs = [...badPacks].sort();
  out.ok = out.checks.length === 0;
  const what =
    o.level === 'quick'
      ? `${out.blobs} blobs indexed, their packs present`
      : `${out.blobsRead} of ${out.blobs} blobs read back and verified (${(out.bytesRead / 1048576).toFixed(1)} MiB)`;
  if (out.ok) out.checks.push({ name: o.level, ok: true, message: what });
  return out;
}
