/** Index files (restic-format.md §8): which blob sits where in which pack. */
import { HoardError } from '../errors.js';
import type { BlobType, PackedBlob } from './pack.js';

export interface IndexPack {
  id: string;
  blobs: PackedBlob[];
}

export interface IndexFile {
  supersedes?: string[];
  packs: IndexPack[];
}

/** Serializes as restic's json.Encoder does (trailing newline); every blob of a pack listed. */
export function encodeIndex(idx: IndexFile): string {
  const parts: string[] = [];
  for (const p of idx.packs) {
    const blobs = p.blobs.map(
      (b) =>
        `{"id":"${b.id}","type":"${b.type}","offset":${b.offset},"length":${b.length}` +
        (b.uncompressedLength !== undefined ? `,"uncompressed_length":${b.uncompressedLength}}` : '}'),
    );
    parts.push(`{"id":"${p.id}","blobs":[${blobs.join(',')}]}`);
  }
  const sup = idx.supersedes?.length ? `"supersedes":[${idx.supersedes.map((s) => `"${s}"`).join(',')}],` : '';
  return `{${sup}"packs":[${parts.join(',')}]}\n`;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Parses an index (also the legacy top-level array form). Kind "corrupt" naming the defect. */
export function decodeIndex(json: Buffer, version: number): IndexFile {
  let j: unknown;
  try {
    j = JSON.parse(json.toString('utf8'));
  } catch {
    throw new HoardError('corrupt', 'index file is not valid JSON');
  }
  const obj = Array.isArray(j) ? { packs: j } : j;
  if (typeof obj !== 'object' || obj === null) throw new HoardError('corrupt', 'index file is not a JSON object');
  const o = obj as { packs?: unknown; supersedes?: unknown };
  if (!Array.isArray(o.packs)) throw new HoardError('corrupt', 'index file has no packs list');
  const packs = o.packs.map((p) => decodePack(p, version));
  const supersedes = Array.isArray(o.supersedes)
    ? o.supersedes.filter((s): s is string => typeof s === 'string')
    : undefined;
  return { packs, ...(supersedes?.length ? { supersedes } : {}) };
}

function decodePack(p: unknown, version: number): IndexPack {
  const pk = p as { id?: unknown; blobs?: unknown };
  if (typeof pk?.id !== 'string' || !HEX64.test(pk.id))
    throw new HoardError('corrupt', 'index lists a pack with an invalid id');
  if (!Array.isArray(pk.blobs))
    throw new HoardError('corrupt', `index entry of pack ${pk.id.slice(0, 8)} has no blobs`);
  return { id: pk.id.toLowerCase(), blobs: pk.blobs.map((b) => decodeBlob(b, version)) };
}

function uint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32;
}

function decodeBlob(b: unknown, version: number): PackedBlob {
  const x = b as { id?: unknown; type?: unknown; offset?: unknown; length?: unknown; uncompressed_length?: unknown };
  if (typeof x?.id !== 'string' || !HEX64.test(x.id))
    throw new HoardError('corrupt', 'index lists a blob with an invalid id');
  if (x.type !== 'data' && x.type !== 'tree')
    throw new HoardError('corrupt', `index lists blob ${x.id.slice(0, 8)} with invalid type`);
  if (!uint(x.offset) || !uint(x.length))
    throw new HoardError('corrupt', `index lists blob ${x.id.slice(0, 8)} with invalid offset or length`);
  const ul = x.uncompressed_length;
  if (ul !== undefined && ul !== null && ul !== 0) {
    if (!uint(ul))
      throw new HoardError('corrupt', `index lists blob ${x.id.slice(0, 8)} with an invalid uncompressed_length`);
    if (version < 2) throw new HoardError('corrupt', 'compressed blob in a version 1 repository');
    return {
      id: x.id.toLowerCase(),
      type: x.type as BlobType,
      offset: x.offset,
      length: x.length,
      uncompressedLength: ul,
    };
  }
  return { id: x.id.toLowerCase(), type: x.type as BlobType, offset: x.offset, length: x.length };
}
