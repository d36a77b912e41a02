/**
 * Writing a repository as someone who stole its key would: snapshots with any metadata, dumps with
 * any content, and raw blobs whose stored bytes and index entries say what the attacker likes. The
 * repository stays valid restic format (restic reads it): only its contents are hostile.
 */
import { createHash } from 'node:crypto';
import { createLocalBackend } from '../../src/backends/local/local-backend.js';
import {
  type Repository,
  type SnapshotEntry,
  backupStreams,
  fixedClock,
  listSnapshots,
  openRepository,
} from '../../src/core/index.js';
import { seal } from '../../src/core/crypto/crypto.js';
import { encodePackTrailer, type PackedBlob } from '../../src/core/format/pack.js';
import { encodeIndex } from '../../src/core/format/index-file.js';
import { encodeTree } from '../../src/core/format/tree.js';
import { saveSnapshot } from '../../src/core/repository/snapshots.js';

export async function openAsAttacker(repoPath: string, password: string): Promise<Repository> {
  return openRepository(createLocalBackend(repoPath), password);
}

/** The newest snapshot of the repository. */
export async function newest(repo: Repository): Promise<SnapshotEntry> {
  const list = (await listSnapshots(repo)).snapshots;
  return list.sort((a, b) => a.timeMs - b.timeMs)[list.length - 1];
}

/**
 * A new snapshot holding `files` at its root (name → bytes) with exactly the given hoard metadata
 * and tags (copy them from a real snapshot to forge one of its kind).
 */
export async function forgeSnapshot(
  repo: Repository,
  o: { files: Record<string, Buffer>; hoard: Record<string, unknown>; tags?: string[]; hostname?: string },
): Promise<string> {
  const inputs = Object.entries(o.files).map(([filename, bytes]) => ({
    filename,
    open: async () => ({
      stream: (async function* () {
        yield bytes;
      })(),
    }),
  }));
  const r = await backupStreams(repo, inputs, {
    clock: fixedClock(Date.now()),
    info: {
      hostname: o.hostname ?? 'attacker',
      username: 'x',
      uid: 0,
      gid: 0,
      tags: o.tags ?? [],
      hoard: o.hoard,
      programVersion: 'hoard',
    },
  });
  return r.snapshotId!;
}

/** A zstd frame without a content size whose RLE blocks expand to `total` bytes of `byte` (4 bytes per 128 KiB). */
export function rleFrame(total: number, byte = 0x61): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  const block = 128 * 1024;
  for (let left = total; left > 0; left -= block) {
    const size = Math.min(block, left);
    const header = (left === size ? 1 : 0) | (1 << 1) | (size << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]));
  }
  return Buffer.concat(parts);
}

/** SHA-256 of `total` bytes of `byte`, computed in 1 MiB steps. */
function hashOfRun(total: number, byte: number): string {
  const h = createHash('sha256');
  const mib = Buffer.alloc(1 << 20, byte);
  for (let left = total; left > 0; left -= mib.length) h.update(left >= mib.length ? mib : mib.subarray(0, left));
  return h.digest('hex');
}

/** Stores `sealed` as the only blob of a new pack, and an index entry claiming `uncompressedLength`. */
async function rawBlob(
  repo: Repository,
  type: 'data' | 'tree',
  id: string,
  sealed: Buffer,
  uncompressedLength?: number,
): Promise<void> {
  const blob: PackedBlob = {
    type,
    id,
    offset: 0,
    length: sealed.length,
    ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
  };
  const pack = Buffer.concat([sealed, encodePackTrailer(repo.key, [blob])]);
  const packId = createHash('sha256').update(pack).digest('hex');
  await repo.backend.save({ type: 'data', name: packId }, pack);
  await repo.saveUnpacked('index', encodeIndex({ packs: [{ id: packId, blobs: [blob] }] }));
}

/**
 * A zstd bomb stored as a data blob: a frame of a few hundred KiB that expands to `expandTo` bytes
 * of `byte`, its id the true SHA-256 of that output (or, with `fakeId`, any id: it is refused
 * before it is hashed), while the index claims `declared` bytes. Returns the blob's id.
 */
export async function bombBlob(
  repo: Repository,
  o: { expandTo: number; declared: number; byte?: number; fakeId?: boolean },
): Promise<string> {
  const byte = o.byte ?? 0x61;
  const id = o.fakeId
    ? createHash('sha256').update(`fake ${byte} ${o.expandTo}`).digest('hex')
    : hashOfRun(o.expandTo, byte);
  await rawBlob(repo, 'data', id, seal(repo.key, rleFrame(o.expandTo, byte)), o.declared);
  return id;
}

/** A snapshot holding one file `name` made of the data blobs `content` (claimed `size` bytes), with the given hoard metadata if any. */
export async function forgeFile(
  repo: Repository,
  o: { name: string; content: string[]; size: number; hoard?: Record<string, unknown> },
): Promise<string> {
  const t = new Date().toISOString();
  const tree = encodeTree([
    {
      name: Buffer.from(o.name),
      type: 'file',
      mode: 0o644,
      mtime: t,
      atime: t,
      ctime: t,
      uid: 0,
      gid: 0,
      size: o.size,
      content: o.content,
      subtree: null,
    } as never,
  ]);
  const treeId = createHash('sha256').update(tree).digest('hex');
  await repo.saveBlob('tree', treeId, tree);
  await repo.flush();
  return saveSnapshot(repo, {
    time: t,
    tree: treeId,
    paths: [`/${o.name}`],
    hostname: 'attacker',
    username: 'x',
    uid: 0,
    gid: 0,
    tags: [],
    program_version: 'hoard',
    ...(o.hoard ? { hoard: o.hoard } : {}),
  } as never);
}
