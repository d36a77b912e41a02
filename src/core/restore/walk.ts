/** Walking snapshot trees: every node with its path, depth first, in tree order. */
import { throwIfAborted } from '../errors.js';
import { type TreeNode, decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';

export interface WalkedNode {
  /** Path from the snapshot root as bytes, starting with "/". */
  path: Buffer;
  node: TreeNode;
  /** Folders from the walked tree to the node: 1 for the tree's own nodes, 2 for their children... */
  depth: number;
}

const SLASH = Buffer.from('/');

/** Yields every node below `treeId`. Trees that fail to load throw (kind "corrupt"/"not-found"). */
export async function* walkTree(
  repo: Repository,
  treeId: string,
  prefix: Buffer = Buffer.alloc(0),
  signal?: AbortSignal,
  depth = 1,
): AsyncGenerator<WalkedNode> {
  throwIfAborted(signal);
  const nodes = decodeTree(await repo.loadBlob('tree', treeId, signal));
  for (const node of nodes) {
    const path = Buffer.concat([prefix, SLASH, node.name]);
    yield { path, node, depth };
    if (node.type === 'dir' && node.subtree) yield* walkTree(repo, node.subtree, path, signal, depth + 1);
  }
}

/** Finds the node at `path` ("/a/b"); undefined when absent. "/" gives a synthetic root dir node. */
export async function findNode(repo: Repository, rootTree: string, path: string): Promise<TreeNode | undefined> {
  const comps = path.split('/').filter((c) => c !== '');
  let tree = rootTree;
  let found: TreeNode = {
    name: Buffer.from('/'),
    type: 'dir',
    mtime: '',
    atime: '',
    ctime: '',
    uid: 0,
    gid: 0,
    content: null,
    subtree: rootTree,
  };
  for (const c of comps) {
    const n = decodeTree(await repo.loadBlob('tree', tree)).find((x) => x.name.equals(Buffer.from(c)));
    if (!n) return undefined;
    found = n;
    if (n.type === 'dir' && n.subtree) tree = n.subtree;
    else if (c !== comps[comps.length - 1]) return undefined;
  }
  return found;
}

/**
 * Streams a file node's content blob by blob, in order, each verified; up to `ahead` blobs are
 * loaded while the caller writes the current one.
 */
export async function* fileContent(
  repo: Repository,
  node: TreeNode,
  signal?: AbortSignal,
  ahead = 3,
): AsyncGenerator<Buffer> {
  const ids = node.content ?? [];
  const loading: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (loading.length < ahead && next < ids.length) {
      const p = repo.loadBlob('data', ids[next++], signal);
      p.catch(() => {}); // observed when its turn comes
      loading.push(p);
    }
  };
  fill();
  while (loading.length > 0) {
    throwIfAborted(signal);
    const blob = await loading.shift()!;
    fill();
    yield blob;
  }
}
