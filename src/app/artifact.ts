/** The one file a snapshot holds (a database dump, or a one-file backup), for `hoard dump` and the API's download. */
import { Readable, type Transform, finished, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { CompressStream } from 'zstd-napi';
import {
  HoardError,
  type Repository,
  type SnapshotEntry,
  type TreeNode,
  findNode,
  listSnapshots,
  walkTree,
} from '../core/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { holdLock, openFromEnv, sequentialContent } from './repository-access.js';
import { chooseSnapshot } from './select.js';

/** The snapshot's only file; kind "usage" when it holds a dump folder or several files. */
export async function onlyFile(
  repo: Repository,
  s: SnapshotEntry,
  signal?: AbortSignal,
): Promise<{ path: string; node: TreeNode }> {
  const found: { path: string; node: TreeNode }[] = [];
  for await (const { path: p, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), signal)) {
    if (node.type === 'file') found.push({ path: p.toString(), node });
    if (node.type === 'dir' && p.toString().endsWith('.dir') && found.length === 0) {
      throw new HoardError('usage', `snapshot ${s.id.slice(0, 8)} holds a dump folder (${p}), not one file`, {
        hint: `restore it with \`hoard restore ${s.id.slice(0, 8)} --target DIR\``,
      });
    }
    if (found.length > 1) break;
  }
  if (found.length !== 1) {
    throw new HoardError(
      'usage',
      `snapshot ${s.id.slice(0, 8)} holds ${found.length ? 'several files' : 'no file'}; say which one`,
      {
        hint: `hoard dump ${s.id.slice(0, 8)} PATH (see \`hoard ls ${s.id.slice(0, 8)}\`), or restore it with --target DIR`,
      },
    );
  }
  return found[0];
}

/** The file at `given` in the snapshot; kind "not-found" when it is missing, "usage" when it is no file. */
export async function namedFile(
  repo: Repository,
  s: SnapshotEntry,
  given: string,
): Promise<{ path: string; node: TreeNode }> {
  const node = await findNode(repo, s.snapshot.tree, given);
  if (!node)
    throw new HoardError('not-found', `no ${given} in snapshot ${s.id.slice(0, 8)}`, {
      hint: 'see `hoard ls ID` for the paths',
    });
  if (node.type !== 'file')
    throw new HoardError('usage', `${given} is a ${node.type}, not a file`, {
      hint: 'use `hoard restore --include` for folders',
    });
  return { path: given, node };
}

/** The nodes of the snapshot at or under `under` ("" or "/": all), in tree order, with their paths. */
export async function* snapshotNodes(
  repo: Repository,
  s: SnapshotEntry,
  under: string,
  signal?: AbortSignal,
): AsyncGenerator<{ path: string; node: TreeNode }> {
  const top = under.replace(/\/+$/, '');
  for await (const { path: p, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), signal)) {
    const at = p.toString();
    if (!top || at === top || at.startsWith(`${top}/`)) yield { path: at, node };
  }
}

export type ArtifactFormat = 'raw' | 'gz' | 'zstd';

/** The file name suffix of each format. */
export const FORMAT_EXTENSION: Record<ArtifactFormat, string> = { raw: '', gz: '.gz', zstd: '.zst' };

/** A compressing stream for the format (none for raw). */
export function compressor(format: ArtifactFormat): Transform | undefined {
  if (format === 'gz') return createGzip({ level: 6 });
  if (format === 'zstd') return new CompressStream() as unknown as Transform;
  return undefined;
}

export interface OpenArtifact {
  snapshotId: string;
  /** The file's name with the format's suffix, e.g. `app.sql.gz`. */
  filename: string;
  stream: Readable;
}

/**
 * The artifact of snapshot `ref` as a stream, read under a shared lock (so a prune cannot remove its
 * packs mid-stream). The lock is released and the repository closed when the stream ends, fails or
 * is destroyed (a client that disconnects), so nothing outlives its reader.
 */
export async function openArtifact(
  env: Env,
  project: Project,
  ref: string,
  format: ArtifactFormat,
): Promise<OpenArtifact> {
  const repo = await openFromEnv(env, { project });
  let lock: Awaited<ReturnType<typeof holdLock>> | undefined;
  try {
    lock = await holdLock(env, repo, false);
    const s = chooseSnapshot((await listSnapshots(repo)).snapshots, { ref }, env.clock.now());
    const f = await onlyFile(repo, s);
    const source = Readable.from(sequentialContent(repo, f.node), { objectMode: false });
    const z = compressor(format);
    const held = lock;
    const done = () => {
      void held
        .release()
        .catch(() => {})
        .finally(() => repo.close());
    };
    const stream = z ? (pipeline(source, z, () => done()) as unknown as Readable) : source;
    if (!z) finished(source, () => done());
    return { snapshotId: s.id, filename: `${f.path.split('/').pop()}${FORMAT_EXTENSION[format]}`, stream };
  } catch (e) {
    await lock?.release().catch(() => {});
    await repo.close();
    throw e;
  }
}
