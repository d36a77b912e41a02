/**
 * Snapshots written straight from node descriptions into a memory repository: any mode, owner or
 * symlink a hostile or unusual snapshot could hold, with no source tree to back up.
 */
import { createHash } from 'node:crypto';
import { createMemoryBackend } from '../../src/core/storage/memory.js';
import { initRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { listSnapshots, saveSnapshot } from '../../src/core/repository/snapshots.js';
import { type TreeNode, encodeTree } from '../../src/core/format/tree.js';
import { goModeOf } from '../../src/core/sources/node-from-stat.js';

/** A node: a file (content), a folder (entries) or a symlink (link); perms are POSIX bits with set-id bits. */
export interface NodeSpec {
  file?: Buffer | string;
  dir?: Record<string, NodeSpec>;
  link?: string;
  perms?: number;
  uid?: number;
  gid?: number;
}

/** The times every node gets. */
export const NODE_TIME = '2024-02-29T12:34:56.789+00:00';
const NODE_TIME_MS = Date.parse(NODE_TIME);
export { NODE_TIME_MS };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BLOB = 512 * 1024;

export async function memoryRepository(): Promise<Repository> {
  const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
  return initRepository(createMemoryBackend(), 'pw', who, { kdf: { N: 1024, r: 1, p: 1 } });
}

async function saveNode(repo: Repository, name: string, s: NodeSpec): Promise<TreeNode> {
  const base = {
    name: Buffer.from(name),
    mtime: NODE_TIME,
    atime: NODE_TIME,
    ctime: NODE_TIME,
    uid: s.uid ?? 0,
    gid: s.gid ?? 0,
    content: null,
  };
  if (s.dir)
    return {
      ...base,
      type: 'dir',
      mode: goModeOf(0o040000 | (s.perms ?? 0o755)),
      subtree: await saveTree(repo, s.dir),
    };
  if (s.link !== undefined) return { ...base, type: 'symlink', mode: goModeOf(0o120777), linktarget: s.link };
  const data = Buffer.from(s.file ?? '');
  const content: string[] = [];
  for (let at = 0; at < data.length; at += BLOB) {
    const part = data.subarray(at, at + BLOB);
    await repo.saveBlob('data', sha(part), part);
    content.push(sha(part));
  }
  return { ...base, type: 'file', mode: goModeOf(0o100000 | (s.perms ?? 0o644)), size: data.length, content };
}

/** Stores the tree (and its data) and returns its id; call repo.flush() before restoring. */
export async function saveTree(repo: Repository, entries: Record<string, NodeSpec>): Promise<string> {
  const nodes = [];
  for (const [name, s] of Object.entries(entries)) nodes.push(await saveNode(repo, name, s));
  const tree = encodeTree(nodes);
  await repo.saveBlob('tree', sha(tree), tree);
  return sha(tree);
}

/** Stores the tree as a snapshot, flushes, and returns the snapshot's tree id as listSnapshots reads it back. */
export async function saveSnapshotOf(repo: Repository, entries: Record<string, NodeSpec>): Promise<string> {
  const tree = await saveTree(repo, entries);
  await repo.flush();
  const id = await saveSnapshot(repo, {
    time: '2026-01-01T00:00:00Z',
    tree,
    paths: ['/data'],
    hostname: 'h',
    username: 'u',
  });
  const entry = (await listSnapshots(repo)).snapshots.find((s) => s.id === id);
  return entry!.snapshot.tree;
}
