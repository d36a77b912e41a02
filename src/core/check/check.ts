/**
 * The check verb (restic-format.md §14): index vs. packs, snapshot and tree structure, and with
 * readData the bytes of every (or a share of the) pack. Damaged packs are traced to the snapshots
 * and files that need them.
 */
import { availableParallelism } from 'node:os';
import { Budget } from '../budget.js';
import { HoardError, isHoardError, throwIfAborted } from '../errors.js';
import { type Reporter, silent } from '../events.js';
import { decodeIndex } from '../format/index-file.js';
import { type PackedBlob, packSizeFromBlobs } from '../format/pack.js';
import { type PackChecker, createPackChecker } from './pack-checker.js';
import { decodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { listSnapshots } from '../repository/snapshots.js';
import { mapLimit } from '../map-limit.js';

export interface CheckOptions {
  readData?: boolean;
  /** Share of packs to read, 0 < subset <= 1 (implies readData). */
  subset?: number;
  signal?: AbortSignal;
  report?: Reporter;
  /** Random source for subset selection (0 ≤ x < 1). */
  random?: () => number;
}

export interface CheckSummary {
  errors: string[];
  hints: string[];
  damagedPacks: string[];
  /** Snapshots that need damaged or missing data, with the affected paths ("/" when the tree itself is lost). */
  affected: { snapshot: string; paths: string[] }[];
  snapshots: number;
  packs: number;
  packsRead: number;
}

/** Runs the checks. Never throws for damage (it is reported in the summary); throws for I/O it cannot get past. */
export async function checkRepository(repo: Repository, o: CheckOptions = {}): Promise<CheckSummary> {
  const report = o.report ?? silent;
  const s: CheckSummary = {
    errors: [],
    hints: [],
    damagedPacks: [],
    affected: [],
    snapshots: 0,
    packs: 0,
    packsRead: 0,
  };
  const err = (message: string, pack?: string) => {
    s.errors.push(message);
    report({ type: 'check.error', message, pack });
  };
  const bad = new Set<string>();

  const indexNames: string[] = [];
  for await (const f of repo.backend.list('index', { signal: o.signal })) indexNames.push(f.name);
  // loaded four at once (each is a round trip to remote storage), added in listing order
  const indexes = await mapLimit(indexNames, 4, (name) =>
    repo
      .loadUnpacked('index', name, o.signal)
      .then((b) => decodeIndex(b, repo.version))
      .catch((e: unknown) => {
        if (isHoardError(e, 'interrupted')) throw e;
        return e as Error;
      }),
  );
  indexes.forEach((x, i) => {
    if (x instanceof Error) err(`index ${indexNames[i].slice(0, 8)}: ${x.message.replace(/^index [0-9a-f]{8}: /, '')}`);
    else repo.index.addIndexFile(x);
  });
  const stored = new Map<string, number>();
  for await (const f of repo.backend.list('data', { signal: o.signal })) stored.set(f.name, f.size);
  s.packs = repo.index.packs.size;
  for (const [id, blobs] of repo.index.packs) {
    const size = stored.get(id);
    if (size === undefined) {
      err(`pack ${id.slice(0, 8)} is listed in the index but missing`, id);
      bad.add(id);
    } else if (size !== packSizeFromBlobs(blobs)) {
      err(
        `pack ${id.slice(0, 8)}: size ${size} does not match ${packSizeFromBlobs(blobs)} computed from the index`,
        id,
      );
      bad.add(id);
    }
  }
  for (const id of stored.keys())
    if (!repo.index.packs.has(id)) s.hints.push(`pack ${id.slice(0, 8)} is not referenced in any index`);

  if (o.readData || o.subset !== undefined) await readPacks(repo, o, s, bad, err);

  const snaps = await listSnapshots(repo, o.signal);
  s.snapshots = snaps.snapshots.length + snaps.damaged.length;
  for (const d of snaps.damaged) err(`snapshot ${d.id.slice(0, 8)}: ${d.error}`);
  const treeOk = new Map<string, boolean>();
  for (const snap of snaps.snapshots) {
    const paths: string[] = [];
    await checkTree(repo, snap.snapshot.tree, '', bad, treeOk, paths, err, o.signal);
    if (paths.length) s.affected.push({ snapshot: snap.id, paths });
  }
  s.damagedPacks = [...bad];
  return s;
}

async function checkTree(
  repo: Repository,
  id: string,
  prefix: string,
  bad: Set<string>,
  seen: Map<string, boolean>,
  paths: string[],
  err: (m: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  throwIfAborted(signal);
  const loc = repo.index.lookup('tree', id);
  let nodes: ReturnType<typeof decodeTree>;
  try {
    if (loc && bad.has(loc.pack)) throw new HoardError('corrupt', `stored in damaged pack ${loc.pack.slice(0, 8)}`);
    nodes = decodeTree(await repo.loadBlob('tree', id, signal));
  } catch (e) {
    if (!isHoardError(e) || isHoardError(e, 'interrupted')) throw e;
    if (!seen.has(id)) err(`tree ${id.slice(0, 8)}: ${(e as HoardError).message}`);
    seen.set(id, false);
    paths.push(prefix || '/');
    return;
  }
  const first = !seen.has(id);
  seen.set(id, true);
  for (const n of nodes) {
    const p = `${prefix}/${n.name.toString()}`;
    if (n.type === 'dir') {
      if (!n.subtree) {
        if (first) err(`dir ${p} has no subtree`);
        continue;
      }
      // Without damage a shared subtree is checked once; with damage every path is walked to name it.
      if (seen.get(n.subtree) === true && bad.size === 0) continue;
      await checkTree(repo, n.subtree, p, bad, seen, paths, err, signal);
    } else if (n.type === 'file') {
      if (n.content === null) {
        if (first) err(`file ${p} has no content list`);
        continue;
      }
      let damaged = false;
      for (const b of n.content) {
        const l = repo.index.lookup('data', b);
        if (!l) {
          if (first) err(`file ${p}: blob ${b.slice(0, 8)} is not in the index`);
          damaged = true;
        } else if (bad.has(l.pack)) damaged = true;
      }
      if (damaged) paths.push(p);
    }
  }
}

/** Threads that verify packs: one per core, up to 4. */
const CHECK_THREADS = Math.min(4, availableParallelism());

/**
 * Reads the chosen packs: loads them here, at most one more than there are threads at once, and
 * verifies them on the pack-checker threads. Problems and progress are reported in pack order.
 */
async function readPacks(
  repo: Repository,
  o: CheckOptions,
  s: CheckSummary,
  bad: Set<string>,
  err: (m: string, pack?: string) => void,
): Promise<void> {
  const rnd = o.random ?? Math.random;
  const all = [...repo.index.packs.keys()].filter((p) => !bad.has(p));
  const chosen = o.subset !== undefined && o.subset < 1 ? all.filter(() => rnd() < o.subset!) : all;
  const checker = createPackChecker(repo.key, repo.version, chosen.length > 1 ? CHECK_THREADS : 0);
  const running = new Budget(CHECK_THREADS + 1);
  const results: ({ problem?: string } | undefined)[] = [];
  let reported = 0,
    failure: unknown;
  const flush = () => {
    for (; reported < chosen.length && results[reported]; reported++) {
      const id = chosen[reported],
        problem = results[reported]!.problem;
      results[reported] = { problem: undefined }; // drop the text once reported
      if (problem) {
        err(`pack ${id.slice(0, 8)}: ${problem}`, id);
        bad.add(id);
      }
      s.packsRead++;
      o.report?.({ type: 'check.progress', done: reported + 1, total: chosen.length, phase: 'read-data' });
    }
  };
  try {
    for (const [i, id] of chosen.entries()) {
      throwIfAborted(o.signal);
      if (failure) break;
      await running.take();
      readPack(repo, checker, id, repo.index.packs.get(id)!)
        .then(
          (problem) => {
            results[i] = { problem };
            flush();
          },
          (e) => {
            failure ??= e;
          },
        )
        .finally(() => running.give());
    }
    await running.idle();
  } finally {
    await checker.close();
  }
  if (failure) throw failure;
  throwIfAborted(o.signal);
}

/** Reads one pack completely; returns a description of the first problem, or undefined when sound. */
async function readPack(
  repo: Repository,
  checker: PackChecker,
  id: string,
  indexed: PackedBlob[],
): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await repo.backend.load({ type: 'data', name: id });
  } catch (e) {
    if (isHoardError(e, 'not-found')) return 'missing';
    throw e;
  }
  return checker.check(id, bytes, indexed);
}
