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
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

const nz = (v: U64 | undefined): boolean => v !== undefined && v !== 0 && v !== 0n;

function nodeObject(n: TreeNode): Record<string, unknown> {
  const o: Record<string, unknown> = { name: quoteNodeName(n.name), type: n.type };
  if (n.mode) o.mode = n.mode;
  o.mtime = n.mtime;
  o.atime = n.atime;
  o.ctime = n.ctime;
  o.uid = n.uid;
  o.gid = n.gid;
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
    if (sorted[i - 1].name.equals(sorted[i].name))
      throw new HoardError('internal', `duplicate name in tree: ${sorted[i].name.toString()}`);
  }
  return sorted;
}

/** Encodes a tree blob exactly as restic builds it: `{"nodes":[...]}` + "\n", nodes sorted. */
export function encodeTree(nodes: TreeNode[]): Buffer {
  const parts = sortNodes(nodes).map((n) => goStringify(nodeObject(n)));
  return Buffer.from(`{"nodes":[${parts.join(',')}]}\n`, 'utf8');
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Decodes a tree blob; kind "corrupt" naming the defect (as restic check reports it). Names that
 * could leave their folder on restore ("", ".", "..", a "/" or NUL inside) and a name listed twice
 * are damage: no file system gives them, and a restore must never write outside its target.
 */
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
  const nodes = ((j.nodes ?? []) as unknown[]).map(decodeNode);
  const seen = new Set<string>();
  for (const n of nodes) {
    const k = n.name.toString('latin1');
    if (seen.has(k)) throw new HoardError('corrupt', `tree lists the name ${JSON.stringify(n.name.toString())} twice`);
    seen.add(k);
  }
  return nodes;
}

/** True for a name that stays inside its folder: not empty, ".", "..", and without "/" or NUL. */
function safeName(n: Buffer): boolean {
  return (
    n.length > 0 &&
    !n.includes(0x2f) &&
    !n.includes(0) &&
    !(n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e)))
  );
}

const MAX_U32 = 2 ** 32 - 1;

/**
 * An unsigned integer field: uint32, a size (a safe integer), or uint64 (also as bigint beyond 2^53).
 * Kind "corrupt" naming the node otherwise.
 */
function unsigned(v: unknown, field: string, name: Buffer, width: 32 | 53 | 64): number | bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint' && v >= 0n && v < 2n ** 64n && width === 64) return v;
  const max = width === 32 ? MAX_U32 : width === 53 ? Number.MAX_SAFE_INTEGER : 2 ** 64;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < max + (width === 64 ? 0 : 1)) return v;
  throw new HoardError('corrupt', `node ${JSON.stringify(name.toString())} has an invalid ${field}`);
}

function decodeNode(x: unknown): TreeNode {
  const o = x as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.name !== 'string')
    throw new HoardError('corrupt', 'tree node without a name');
  let name: Buffer;
  try {
    name = unquoteNodeName(o.name);
  } catch {
    throw new HoardError('corrupt', `tree node name cannot be unquoted: ${JSON.stringify(o.name)}`);
  }
  if (!safeName(name))
    throw new HoardError('corrupt', `tree node with an invalid name ${JSON.stringify(name.toString())}`);
  if (typeof o.type !== 'string' || !NODE_TYPES.includes(o.type))
    throw new HoardError('corrupt', `node ${name} has unknown type ${String(o.type)}`);
  const ids = (v: unknown): string[] | null => {
    if (v === null || v === undefined) return null;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && HEX64.test(s)))
      throw new HoardError('corrupt', `node ${name} has invalid content ids`);
    return v as string[];
  };
  const u64 = (v: unknown, field: string): U64 | undefined => unsigned(v, field, name, 64);
  const u32 = (v: unknown, field: string): number | undefined => unsigned(v, field, name, 32) as number | undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const n: TreeNode = {
    name,
    type: o.type as NodeType,
    mtime: String(o.mtime ?? ''),
    atime: String(o.atime ?? ''),
    ctime: String(o.ctime ?? ''),
    uid: u32(o.uid, 'uid') ?? 0,
    gid: u32(o.gid, 'gid') ?? 0,
    content: ids(o.content),
  };
  const mode = u32(o.mode, 'mode');
  if (mode !== undefined) n.mode = mode;
  if (str(o.user)) n.user = str(o.user);
  if (str(o.group)) n.group = str(o.group);
  const inode = u64(o.inode, 'inode'),
    deviceId = u64(o.device_id, 'device_id'),
    links = u64(o.links, 'links'),
    device = u64(o.device, 'device');
  const size = unsigned(o.size, 'size', name, 53) as number | undefined;
  if (inode !== undefined) n.inode = inode;
  if (deviceId !== undefined) n.device_id = deviceId;
  if (size !== undefined) n.size = size;
  if (links !== undefined) n.links = links;
  if (str(o.linktarget)) n.linktarget = str(o.linktarget);
  if (typeof o.linktarget_raw === 'string') n.linktarget_raw = Buffer.from(o.linktarget_raw, 'base64');
  if (Array.isArray(o.extended_attributes)) {
    n.extended_attributes = o.extended_attributes.map((a: { name?: unknown; value?: unknown }) => ({
      name: String(a?.name ?? ''),
      value: typeof a?.value === 'string' ? Buffer.from(a.value, 'base64') : null,
    }));
  }
  if (typeof o.generic_attributes === 'object' && o.generic_attributes !== null)
    n.generic_attributes = o.generic_attributes as Record<string, unknown>;
  if (device !== undefined) n.device = device;
  if (typeof o.subtree === 'string') {
    if (!HEX64.test(o.subtree)) throw new HoardError('corrupt', `node ${name} has an invalid subtree id`);
    n.subtree = o.subtree;
  }
  if (str(o.error)) n.error = str(o.error);
  return n;
}
