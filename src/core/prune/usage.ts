/**
 * Which blobs snapshots use: the groundwork of prune (restic-format.md §12-13). Reachability walks
 * each tree once; sizes are the blobs' stored lengths in their packs (encrypted, compressed).
 */
import { throwIfAborted } from '../errors.js';
import { decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';

/** Tree loads in flight at once: remote storage answers each after a round trip. */
const TREE_LOADS = 8;

/**
 * Keys ("tree:<id>", "data:<id>") of every blob reachable from the root trees, loading up to
 * TREE_LOADS trees at once. Kind "not-found"/"corrupt" when a tree cannot be read (the first
 * failure; loads already started are left to settle).
 */
export async function reachableBlobs(
  repo: Repository,
  roots: string[],
  signal?: AbortSignal,
  into = new Set<string>(),
): Promise<Set<string>> {
  const queue = [...roots];
  let running = 0;
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      if (!failed) {
        failed = true;
        reject(e);
      }
    };
    const pump = (): void => {
      if (failed) return;
      try {
        throwIfAborted(signal);
      } catch (e) {
        fail(e);
        return;
      }
      while (running < TREE_LOADS && queue.length) {
        const id = queue.pop()!;
        if (into.has(`tree:${id}`)) continue;
        into.add(`tree:${id}`);
        running++;
        repo
          .loadBlob('tree', id, signal)
          .then((buf) => {
            running--;
            for (const n of decodeTree(buf)) {
              for (const c of n.content ?? []) into.add(`data:${c}`);
              if (n.subtree) queue.push(n.subtree);
            }
            pump();
          })
          .catch(fail);
      }
      if (running === 0 && queue.length === 0) resolve();
    };
    pump();
  });
  return into;
}

/**
 * Stored bytes of the blobs that `removed` trees use and `kept` trees do not: what a prune frees
 * once the removed snapshots are gone (packs it repacks aside). Needs the index loaded.
 */
export async function exclusiveBytes(
  repo: Repository,
  removed: string[],
  kept: string[],
  signal?: AbortSignal,
): Promise<number> {
  if (!removed.length) return 0;
  const keep = await reachableBlobs(repo, kept, signal);
  const gone = await reachableBlobs(repo, removed, signal);
  let bytes = 0;
  for (const key of gone) {
    if (keep.has(key)) continue;
    const [type, id] = key.split(':') as ['tree' | 'data', string];
    bytes += repo.index.lookup(type, id)?.length ?? 0;
  }
  return bytes;
}
