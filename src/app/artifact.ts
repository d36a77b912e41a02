/** The one file a snapshot holds (a database dump, or a one-file backup), for `hoard dump` and the API's download. */
import { HoardError, type Repository, type SnapshotEntry, type TreeNode, walkTree } from '../core/index.js';

/** The snapshot's only file; kind "usage" when it holds a dump folder or several files. */
export async function onlyFile(repo: Repository, s: SnapshotEntry, signal?: AbortSignal): Promise<{ path: string; node: TreeNode }> {
  const found: { path: string; node: TreeNode }[] = [];
  for await (const { path: p, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), signal)) {
    if (node.type === 'file') found.push({ path: p.toString(), node });
    if (node.type === 'dir' && p.toString().endsWith('.dir') && found.length === 0) {
      throw new HoardError('usage', `snapshot ${s.id.slice(0, 8)} holds a dump folder (${p}), not one file`, { hint: `restore it with \`hoard restore ${s.id.slice(0, 8)} --target DIR\`` });
    }
    if (found.length > 1) break;
  }
  if (found.length !== 1) {
    throw new HoardError('usage', `snapshot ${s.id.slice(0, 8)} holds ${found.length ? 'several files' : 'no file'}; say which one`, { hint: `hoard dump ${s.id.slice(0, 8)} PATH (see \`hoard ls ${s.id.slice(0, 8)}\`), or restore it with --target DIR` });
  }
  return found[0];
}
