/** Trees and nodes (restic-format.md §10): the directory structure of a snapshot. */
import { HoardError } from '../errors.js';
import { goStringify, parseJson } from './gojson.js';
import { quoteNodeName, unquoteNodeName } from './node-name.js';

export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';
const NODE_TYPES: readonly string[] = ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular'];

/** A uint64 that may exceed 2^53 (inode, device ids). */
export type U64 = number | bigint;

export interface TreeNode {
  /** Raw name bytes (restic stores them quoted; see node-name.ts). */
  name: Buffer;
  type: NodeType;
  mode?: number;
  mtime: string;
  atime: string;
  ctime: string;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  inode?: U64;
  device_id?: U64;
  size?: number;
  links?: U64;
  linktarget?: string;
  linktarget_raw?: Buffer;
  extended_attributes?: { name: string; value: Buffer | null }[];
  generic_attributes?: Record<string, unknown>;
  device?: U64;
  /** Data blob ids of a file in order; null for every other type. */
  content: string[] | null;
  subtree?: string;
  error?: string;
}

/** Go's os.FileMode bits (restic-format.md §10.3). */
export const GoMode = {
  dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24,
  setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20,
} as const;

const nz = (v: U64 | undefined): boolean => v !== undefined && v !== 0 && v !== 0n;

function nodeObject(n: TreeNode): Record<string, unknown> {
  const o: Record<string, unknown> = { name: quoteNodeName(n.name), type: n.type };
  if (n.mode) o.mode = n.mode;
  o.mtime = n.mtime; o.atime = n.atime; o.ctime = n.ctime;
  o.uid = n.uid; o.gid = n.gid;
  if (n.user) o.user = n.user;
  if (n.group) o.group = n.group;
  if (nz(n.inode)) o.inode = n.inode;
  if (nz(n.device_id)) o.device_id = n.device_id;
  if (n.size) o.size = n.size;
  if (nz(n.links)) o.links = n.links;
  if (n.linktarget) o.linktarget = n.linktarget;
  if (n.linktarget_raw?.length) o.linktarget_raw = n.linktarget_raw;
  if (n.extended_attributes?.length) o.extended_attributes = n.extended_attributes;
  if (n.generic_attributes && Object.keys(n.generic_attributes).length) o.generic_attributes = n.generic_attributes;
  if (nz(n.device)) o.device = n.device;
  o.content = n.content;
  if (n.subtree) o.subtree = n.subtree;
  if (n.error) o.error = n.error;
  return o;
}

/** Sorts nodes by raw name bytes; throws "internal" on duplicate names (a caller bug). */
export function sortNodes(nodes: TreeNode[]): TreeNode[] {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].name.equals(sorted[i].name)) throw new HoardError('internal', `duplicate name in tree: ${sorted[i].name.toString()}`);
  }
  return sorted;
}

/** Encodes a tree blob exactly as restic builds it: `{"nodes":[...]}` + "\n", nodes sorted. */
export function encodeTree(nodes: TreeNode[]): Buffer {
  const parts = sortNodes(nodes).map((n) => goStringify(nodeObject(n)));
  return Buffer.from(`{"nodes":[${parts.join(',')}]}\n`, 'utf8');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Decodes a tree blob; kind "corrupt" naming the defect (as restic check reports it). */
export function decodeTree(buf: Buffer): TreeNode[] {
  let j: { nodes?: unknown };
  try {
    j = parseJson(buf) as { nodes?: unknown };
  } catch {
    throw new HoardError('corrupt', 'tree is not valid JSON');
  }
  if (typeof j !== 'object' || j === null || !(Array.isArray(j.nodes) || j.nodes === null)) {
    throw new HoardError('corrupt', 'tree has no nodes list');
  }
  return ((j.nodes ?? []) as unknown[]).map(decodeNode);
}

function decodeNode(x: unknown): TreeNode {
  const o = x as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.name !== 'string') throw new HoardError('corrupt', 'tree node without a name');
  let name: Buffer;
  try {
    name = unquoteNodeName(o.name);
  } catch {
    throw new HoardError('corrupt', `tree node name cannot be unquoted: ${JSON.stringify(o.name)}`);
  }
  if (name.length === 0) throw new HoardError('corrupt', 'tree node with an empty name');
  if (typeof o.type !== 'string' || !NODE_TYPES.includes(o.type)) throw new HoardError('corrupt', `node ${name} has unknown type ${String(o.type)}`);
  const ids = (v: unknown): string[] | null => {
    if (v === null || v === undefined) return null;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && HEX64.test(s))) throw new HoardError('corrupt', `node ${name} has invalid content ids`);
    return v as string[];
  };
  const u64 = (v: unknown): U64 | undefined => (typeof v === 'number' || typeof v === 'bigint' ? v : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const n: TreeNode = {
    name, type: o.type as NodeType, mtime: String(o.mtime ?? ''), atime: String(o.atime ?? ''), ctime: String(o.ctime ?? ''),
    uid: Number(o.uid ?? 0), gid: Number(o.gid ?? 0), content: ids(o.content),
  };
  if (typeof o.mode === 'number') n.mode = o.mode;
  if (str(o.user)) n.user = str(o.user);
  if (str(o.group)) n.group = str(o.group);
  if (u64(o.inode) !== undefined) n.inode = u64(o.inode);
  if (u64(o.device_id) !== undefined) n.device_id = u64(o.device_id);
  if (o.size !== undefined && o.size !== null) n.size = Number(o.size);
  if (u64(o.links) !== undefined) n.links = u64(o.links);
  if (str(o.linktarget)) n.linktarget = str(o.linktarget);
  if (typeof o.linktarget_raw === 'string') n.linktarget_raw = Buffer.from(o.linktarget_raw, 'base64');
  if (Array.isArray(o.extended_attributes)) {
    n.extended_attributes = o.extended_attributes.map((a: { name?: unknown; value?: unknown }) => ({
      name: String(a?.name ?? ''), value: typeof a?.value === 'string' ? Buffer.from(a.value, 'base64') : null,
    }));
  }
  if (typeof o.generic_attributes === 'object' && o.generic_attributes !== null) n.generic_attributes = o.generic_attributes as Record<string, unknown>;
  if (u64(o.device) !== undefined) n.device = u64(o.device);
  if (typeof o.subtree === 'string') {
    if (!HEX64.test(o.subtree)) throw new HoardError('corrupt', `node ${name} has an invalid subtree id`);
    n.subtree = o.subtree;
  }
  if (str(o.error)) n.error = str(o.error);
  return n;
}
