/**
 * Copies to other repositories (3-2-1): `hoard copy --to NAME|URL`, and a job's `destinations`
 * after its backup. Both repositories are held with shared locks; only what the destination lacks
 * moves. A destination that fails is reported per destination and never undoes the backup.
 */
import {
  type CopyProgress,
  type CopyResult,
  type Repository,
  type SnapshotEntry,
  HoardError,
  copySnapshots,
  isHoardError,
  listSnapshots,
} from '../core/index.js';
import { entryOf } from '../config/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { namedRepository, openAt, withLock, withRepository } from './repository-access.js';

export interface CopyOutcome extends CopyResult {
  destination: string;
  /** The destination's display location. */
  location: string;
}

/** Copies the snapshots `pick` chooses from the repository in force to `to` (a name in hoard.yaml or a URL). */
export async function copyTo(
  env: Env,
  p: Project,
  to: string,
  pick: (all: SnapshotEntry[]) => SnapshotEntry[],
  o: { signal?: AbortSignal; report?: (e: CopyProgress) => void } = {},
): Promise<CopyOutcome> {
  return withRepository(env, { project: p, signal: o.signal }, (src) => copyFrom(env, p, src, to, pick, o));
}

/** Copies from an open repository (`src`) to `to`. */
export async function copyFrom(
  env: Env,
  p: Project,
  src: Repository,
  to: string,
  pick: (all: SnapshotEntry[]) => SnapshotEntry[],
  o: { signal?: AbortSignal; report?: (e: CopyProgress) => void } = {},
): Promise<CopyOutcome> {
  const loc = namedRepository(p, to);
  const dst = await openAt(env, loc, { project: p, signal: o.signal });
  if (dst.config.id === src.config.id) {
    await dst.close();
    throw new HoardError('usage', `${to} is the repository being copied from`, {
      hint: 'name another repository with --to',
    });
  }
  try {
    return await withLock(
      env,
      src,
      false,
      () =>
        withLock(env, dst, false, async () => {
          const chosen = pick((await listSnapshots(src, o.signal)).snapshots);
          src.enableReadAhead(); // neighbouring blobs of a pack come with one read
          const r = await copySnapshots(src, dst, chosen, (await listSnapshots(dst, o.signal)).snapshots, o);
          return { ...r, destination: loc.name ?? to, location: dst.backend.location };
        }),
      0,
      undefined,
      o.signal,
    );
  } finally {
    await dst.close();
  }
}

/** Copies the snapshots `ids` to each destination; failures are returned, not thrown. */
export async function copyToDestinations(
  env: Env,
  p: Project,
  destinations: string[],
  ids: string[],
  o: { signal?: AbortSignal } = {},
): Promise<{ ok: CopyOutcome[]; failed: { destination: string; error: HoardError }[] }> {
  const out = { ok: [] as CopyOutcome[], failed: [] as { destination: string; error: HoardError }[] };
  const want = new Set(ids);
  for (const d of destinations) {
    try {
      out.ok.push(await copyTo(env, p, d, (all) => all.filter((s) => want.has(s.id)), o));
    } catch (e) {
      out.failed.push({
        destination: d,
        error: isHoardError(e) ? e : new HoardError('internal', (e as Error).message, { cause: e }),
      });
    }
  }
  return out;
}

/** The destinations a job copies to besides the repository in force. */
export function copyDestinations(p: Project, job: string | undefined): string[] {
  const dests = job ? (entryOf(p.config.jobs, job)?.destinations ?? []) : [];
  const primary = p.settings.repository?.value.name;
  return dests.filter((d) => d !== primary);
}

/** Lists a destination's snapshots (for status's copy lag): opened without its index, no lock. */
export function destinationLister(env: Env, p: Project): (destination: string) => Promise<SnapshotEntry[]> {
  return async (destination) => {
    const r = await openAt(env, namedRepository(p, destination), { project: p, index: false });
    try {
      return (await listSnapshots(r)).snapshots;
    } finally {
      await r.close();
    }
  };
}
