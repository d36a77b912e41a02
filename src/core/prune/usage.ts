/**
 * Which blobs snapshots use: the groundwork of prune (restic-format.md §12-13). Reachability walks
 * each tree once; sizes are the blobs' stored lengths in their packs (encrypted, compressed).
 */
import { throwIfAborted } from '../errors.js';
import { decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';

/** Keys ("tree:<id>", "data:<id>") of every blob reachable from the root trees. Kind "not-found"/"corrupt" when a tree cannot be read. */
export async function reachableBlobs(repo: Repository, roots: string[], signal?: AbortSignal, into = new Set<string>()): Promise<Set<string>> {
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (into.has(`tree:${id}`)) continue;
    throwIfAborted(signal);
    into.add(`tree:${id}`);
    for (const n of decodeTree(await repo.loadBlob('tree', id, signal))) {
      for (const c of n.content ?? []) into.add(`data:${c}`);
      if (n.subtree) stack.push(n.subtree);
    }
  }
  return into;
}

/**
 * Stored bytes of the blobs that `removed` trees use and `kept` trees do not: what a prune frees
 * once the removed snapshots are gone (packs it repacks aside). Needs the index loaded.
 */
export async function exclusiveBytes(repo: Repository, removed: string[], kept: string[], signal?: AbortSignal): Promise<number> {
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
