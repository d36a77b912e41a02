/**
 * kill -9 torture: the CLI is killed at a random moment during backup, prune, copy and restore,
 * over and over on the same repositories. After every kill: `hoard check`, `restic check
 * --read-data`, and a restore of every snapshot compared with what was backed up. Counts kills,
 * repositories left inconsistent and snapshots lost (both must stay 0). Used by
 * kill.test.ts (a few iterations in CI) and torture.ts (`npm run torture`, many).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { prng, textLike } from '../helpers/data.js';
import { CLI, hoard, restic } from '../helpers/services.js';
import { openHoard } from '../../src/app/hoard.js';

export type Operation = 'backup' | 'prune' | 'copy' | 'restore';

export interface KillFigures {
  operation: Operation;
  kills: number;
  /** Kills that landed after the operation had finished (the process was already gone). */
  completed: number;
  inconsistent: number;
  snapshotsLost: number;
  restoresChecked: number;
  problems: string[];
}

const PW = 'torture';
const FILES = 16;

/** Tree hash: relative path → sha256 of the content. */
async function treeHash(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash('sha256')
      .update(await readFile(path.join(dir, f)))
      .digest('hex');
  return out;
}

/** Changes a few files of the data folder (different sizes, new and rewritten content). */
async function mutate(data: string, r: () => number, round: number): Promise<void> {
  for (let i = 0; i < FILES; i++) {
    if (round > 0 && r() > 0.25) continue;
    await writeFile(path.join(data, `f${i}.txt`), textLike(Math.floor(64 * 1024 + r() * 512 * 1024), round * 100 + i));
  }
}

/** Runs the CLI and kills it with SIGKILL after `delayMs`; true when the kill landed (the process still ran). */
function runAndKill(args: string[], env: NodeJS.ProcessEnv, cwd: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

/** `restored`: snapshots already restored and compared once; `turn` rotates the re-checked ones. */
interface Repo {
  path: string;
  expected: Map<string, Record<string, string>>;
  restored: Set<string>;
  turn: number;
}

/** Snapshots restored again after each kill besides the new ones (in rotation, so each old one comes round). */
const RECHECKED = 2;

/**
 * The checks after a kill: hoard check, restic check --read-data (every blob of every snapshot),
 * and restores compared with what was backed up: every snapshot not restored before, plus
 * RECHECKED older ones in rotation (all of them with `all`, as after the last kill). Restoring
 * every snapshot after every kill made the work grow with the square of the kills.
 */
async function verify(
  repo: Repo,
  work: string,
  f: KillFigures,
  label: string,
  before: Set<string>,
  all = false,
): Promise<void> {
  const env = { ...process.env, HOARD_REPOSITORY: repo.path, HOARD_PASSWORD: PW, HOARD_CONFIG: '' };
  const hc = await hoard(['check'], { env });
  // the killed process's lock: hoard ignores a dead local process's lock, restic needs it removed
  await hoard(['unlock'], { env });
  const rc = await restic(repo.path, PW, ['check', '--read-data']);
  if (hc.code !== 0 || rc.code !== 0) {
    f.inconsistent++;
    f.problems.push(
      `${label}: hoard check ${hc.code} ${hc.stdout.slice(-300)} ${hc.stderr.slice(-300)}; restic check ${rc.code} ${rc.stdout.slice(-300)} ${rc.stderr.slice(-300)}`,
    );
  }
  const snaps = JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout || '[]') as {
    id: string;
    tags: string[];
  }[];
  const h = await openHoard({ cwd: work, repository: repo.path, password: PW, vars: { PATH: process.env.PATH } });
  const now = new Set(snaps.map((s) => s.id));
  for (const id of before)
    if (!now.has(id)) {
      f.snapshotsLost++;
      f.problems.push(`${label}: snapshot ${id.slice(0, 8)} is gone`);
    }
  const old = snaps.filter((s) => repo.restored.has(s.id));
  const again = new Set(
    all
      ? old.map((s) => s.id)
      : Array.from({ length: Math.min(RECHECKED, old.length) }, () => old[repo.turn++ % old.length].id),
  );
  for (const s of snaps) {
    if (repo.restored.has(s.id) && !again.has(s.id)) continue;
    const tag = s.tags.find((t) => t.startsWith('state-'));
    const want = tag ? repo.expected.get(tag) : undefined;
    if (!want) continue;
    const target = path.join(work, `check-${s.id.slice(0, 8)}`);
    await rm(target, { recursive: true, force: true });
    const err = await h.restore({ ref: s.id, target }).then(
      () => '',
      (e: Error) => e.message,
    );
    const got = err ? {} : await treeHash(path.join(target, 'data')).catch(() => ({}));
    f.restoresChecked++;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      f.inconsistent++;
      f.problems.push(`${label}: snapshot ${s.id.slice(0, 8)} (${tag}) restores to other content ${err}`);
    }
    repo.restored.add(s.id);
    await rm(target, { recursive: true, force: true });
  }
}

/** Kills `operation` `iterations` times; returns the figures. */
export async function killTorture(operation: Operation, iterations: number, seed = 1): Promise<KillFigures> {
  const r = prng(seed);
  const f: KillFigures = {
    operation,
    kills: 0,
    completed: 0,
    inconsistent: 0,
    snapshotsLost: 0,
    restoresChecked: 0,
    problems: [],
  };
  const work = await mkdtemp(path.join(os.tmpdir(), `hoard-kill-${operation}-`));
  const data = path.join(work, 'data');
  await mkdir(data);
  const repo: Repo = { path: path.join(work, 'repo'), expected: new Map(), restored: new Set(), turn: 0 };
  const other: Repo = { path: path.join(work, 'copy'), expected: repo.expected, restored: new Set(), turn: 0 };
  const env = (p: string) => ({
    ...process.env,
    HOARD_REPOSITORY: p,
    HOARD_PASSWORD: PW,
    HOARD_CONFIG: '',
    HOARD_ENVIRONMENT: '',
  });
  try {
    for (const p of [repo.path, other.path])
      if ((await hoard(['init'], { env: env(p) })).code !== 0) throw new Error('init failed');
    const snapshot = async (round: number, kill: boolean) => {
      await mutate(data, r, round);
      const tag = `state-${round}`;
      repo.expected.set(tag, await treeHash(data));
      const args = ['backup', '--tag', tag, 'data'];
      if (!kill) return (await hoard(args, { env: env(repo.path), cwd: work })).code === 0;
      return runAndKill(args, env(repo.path), work, 20 + Math.floor(r() * 600));
    };
    // a few complete snapshots to work on
    for (let i = 0; i < 3; i++) await snapshot(i, false);
    const ids = async (p: string) =>
      new Set(
        (JSON.parse((await hoard(['snapshots', '--json'], { env: env(p) })).stdout) as { id: string }[]).map(
          (s) => s.id,
        ),
      );
    for (let it = 0; it < iterations; it++) {
      const round = 3 + it;
      const before = await ids(repo.path);
      let landed: boolean;
      // the kill lands anywhere in a run: a copy opens two repositories (two key derivations, two
      // lock settles) before it moves data, so its window is longer; some runs finish first, and
      // their snapshots give later kills more to copy and the destination snapshots to check
      const window = operation === 'prune' ? 400 : operation === 'copy' ? 1500 : 900;
      const cwdRun = (args: string[], p: string) => runAndKill(args, env(p), work, 20 + Math.floor(r() * window));
      if (operation === 'backup') {
        landed = await snapshot(round, true);
      } else if (operation === 'prune') {
        await snapshot(round, false);
        // forget the oldest (recorded as intended), then prune under the knife
        const all = JSON.parse((await hoard(['snapshots', '--json'], { env: env(repo.path) })).stdout) as {
          id: string;
        }[];
        const victim = all[0];
        await hoard(['forget', victim.id], { env: env(repo.path) });
        before.delete(victim.id);
        landed = await cwdRun(['prune'], repo.path);
      } else if (operation === 'copy') {
        await snapshot(round, false);
        const beforeCopy = await ids(other.path);
        landed = await cwdRun(['copy', '--to', other.path], repo.path);
        await verify(other, work, f, `copy ${it} (destination)`, beforeCopy);
      } else {
        await snapshot(round, false);
        const target = path.join(work, 'restore-target');
        await rm(target, { recursive: true, force: true });
        landed = await cwdRun(['restore', 'latest', '--target', target], repo.path);
        // whatever a killed restore left under a final name is complete and right
        const want = repo.expected.get(`state-${round}`)!;
        const dir = path.join(target, 'data');
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (!(name in want)) continue; // a temporary name: never presented as a file of the snapshot
          const h = createHash('sha256')
            .update(await readFile(path.join(dir, name)))
            .digest('hex');
          if (h !== want[name]) {
            f.inconsistent++;
            f.problems.push(`restore ${it}: ${name} is under its final name but incomplete or wrong`);
          }
        }
      }
      if (landed) f.kills++;
      else f.completed++;
      await verify(repo, work, f, `${operation} ${it}`, before, it === iterations - 1);
    }
    if (operation === 'copy' && iterations > 0)
      await verify(other, work, f, 'copy (destination, at the end)', await ids(other.path), true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return f;
}
