/** Snapshots (restic-format.md §9) plus hoard's own metadata field (DESIGN.md §5). */
import { HoardError } from '../errors.js';
import { decodeJsonObject, goStringify } from './gojson.js';

export interface Snapshot {
  time: string;
  parent?: string;
  tree: string;
  paths: string[] | null;
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  original?: string;
  program_version?: string;
  summary?: Record<string, unknown>;
  /** hoard's metadata; restic ignores it. */
  hoard?: Record<string, unknown>;
  /** Fields this version does not know, kept verbatim when the snapshot is rewritten. */
  extra?: Record<string, unknown>;
}

const KNOWN = [
  'time',
  'parent',
  'tree',
  'paths',
  'hostname',
  'username',
  'uid',
  'gid',
  'excludes',
  'tags',
  'original',
  'program_version',
  'summary',
  'hoard',
] as const;

/** Serializes in Go field order with restic's omitempty rules, then hoard, then unknown fields. */
export function encodeSnapshot(s: Snapshot): string {
  const o: Record<string, unknown> = { time: s.time };
  if (s.parent) o.parent = s.parent;
  o.tree = s.tree;
  o.paths = s.paths;
  if (s.hostname) o.hostname = s.hostname;
  if (s.username) o.username = s.username;
  if (s.uid) o.uid = s.uid;
  if (s.gid) o.gid = s.gid;
  if (s.excludes?.length) o.excludes = s.excludes;
  if (s.tags?.length) o.tags = s.tags;
  if (s.original) o.original = s.original;
  if (s.program_version) o.program_version = s.program_version;
  if (s.summary) o.summary = s.summary;
  if (s.hoard) o.hoard = s.hoard;
  for (const [k, v] of Object.entries(s.extra ?? {})) if (!(k in o)) o[k] = v;
  return goStringify(o);
}

const HEX64 = /^[0-9a-f]{64}$/;
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;

/** Parses a snapshot; kind "corrupt" when it has no valid tree or time. */
export function decodeSnapshot(json: Buffer): Snapshot {
  const j = decodeJsonObject(json, 'snapshot');
  if (typeof j.tree !== 'string' || !HEX64.test(j.tree))
    throw new HoardError('corrupt', 'snapshot has no valid tree id');
  if (typeof j.time !== 'string') throw new HoardError('corrupt', 'snapshot has no time');
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) if (!(KNOWN as readonly string[]).includes(k)) extra[k] = v;
  const s: Snapshot = { time: j.time, tree: j.tree, paths: strings(j.paths) ?? null };
  if (typeof j.parent === 'string' && j.parent) s.parent = j.parent;
  if (typeof j.hostname === 'string' && j.hostname) s.hostname = j.hostname;
  if (typeof j.username === 'string' && j.username) s.username = j.username;
  if (typeof j.uid === 'number') s.uid = j.uid;
  if (typeof j.gid === 'number') s.gid = j.gid;
  const ex = strings(j.excludes),
    tags = strings(j.tags);
  if (ex?.length) s.excludes = ex;
  if (tags?.length) s.tags = tags;
  if (typeof j.original === 'string' && j.original) s.original = j.original;
  if (typeof j.program_version === 'string' && j.program_version) s.program_version = j.program_version;
  if (typeof j.summary === 'object' && j.summary !== null)
    s.summary = plainNumbers(j.summary) as Record<string, unknown>;
  if (typeof j.hoard === 'object' && j.hoard !== null) s.hoard = plainNumbers(j.hoard) as Record<string, unknown>;
  if (Object.keys(extra).length) s.extra = extra;
  return s;
}

/**
 * `summary` and hoard's metadata as plain JSON values: integers beyond 2^53 (only a damaged file has
 * them there) become numbers, so that every consumer can print them with JSON.stringify.
 */
function plainNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plainNumbers);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainNumbers(x)]));
  return v;
}
