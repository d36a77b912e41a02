/**
 * The damage sweep: one byte flipped (at the start, the end, the middle and random places) and
 * truncations (to nothing, to half, by one byte) in every file type of a repository — config, key,
 * lock, snapshot, index, a data pack and a tree pack — each on a fresh copy. After each:
 * `hoard check --read-data` and `hoard restore latest`, judged by what a user needs:
 * - damage to an encrypted file is always detected (check exits 5; the file named);
 * - a restore either succeeds with every file exactly right, or fails with a documented exit code;
 *   a file under its final name is never wrong (complete and right, or absent);
 * - never a crash (internal error, stack trace, undocumented exit code) and never a hang.
 * Key files are plain JSON: a flip inside a free-text field (created, hostname) is harmless, so a
 * key case may pass check, but then the restore must be right. A damaged lock never stops work.
 */
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { prng, textLike } from '../helpers/data.js';
import { hoard } from '../helpers/services.js';
import { createLocalBackend } from '../../src/backends/local/local-backend.js';
import { openRepository } from '../../src/core/repository/open.js';
import { encodeLock } from '../../src/core/format/lock.js';
import { formatGoTime, goTimeFromMs } from '../../src/core/format/time.js';

export type FileKind = 'config' | 'key' | 'lock' | 'snapshot' | 'index' | 'data pack' | 'tree pack';
const ENCRYPTED: readonly FileKind[] = ['config', 'snapshot', 'index', 'data pack', 'tree pack'];
const DOCUMENTED = new Set([0, 1, 2, 5, 6, 10, 11, 12]);
const PW = 'sweep';

export interface SweepFigures {
  cases: number;
  /** check failed (exit 5) and named the damaged file, or the restore refused */
  detected: number;
  /** check passed and the restore was exactly right (only possible for key and lock files) */
  harmless: number;
  /** wrong bytes under a final name, undetected damage to an encrypted file, crashes, hangs: must be 0 */
  problems: string[];
  byKind: Record<string, number>;
}

interface Fixture {
  dir: string;
  repo: string;
  src: string;
  expected: Record<string, string>;
  files: Record<FileKind, string>;
}

async function sha(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** A repository with one snapshot of a few files (one large enough to span several blobs) and a stale lock. */
async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-sweep-'));
  const repo = path.join(dir, 'repo'),
    src = path.join(dir, 'src');
  const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
  await mkdir(path.join(src, 'sub'), { recursive: true });
  await writeFile(path.join(src, 'dump.sql'), textLike(3 * 1024 * 1024, 11));
  await writeFile(path.join(src, 'small.txt'), 'small file\n');
  await writeFile(path.join(src, 'sub', 'nested.txt'), textLike(20_000, 12));
  if ((await hoard(['init'], { env })).code !== 0) throw new Error('init failed');
  const b = await hoard(['backup', 'src'], { env, cwd: dir });
  if (b.code !== 0) throw new Error(`backup failed: ${b.stderr}`);
  const expected: Record<string, string> = {};
  for (const f of ['dump.sql', 'small.txt', 'sub/nested.txt']) expected[f] = await sha(path.join(src, f));
  // which pack holds data and which trees; and a lock as a killed process leaves it (a dead PID on this host)
  const r = await openRepository(createLocalBackend(repo), PW);
  await r.loadIndex();
  const packsByType: Record<string, string> = {};
  for (const [id, blobs] of r.index.packs) packsByType[blobs[0].type] ??= id;
  await r.saveUnpacked(
    'lock',
    encodeLock({
      time: formatGoTime(goTimeFromMs(Date.now())),
      exclusive: false,
      hostname: os.hostname(),
      username: 'x',
      pid: 2 ** 22 + 7,
    }),
  );
  await r.close();
  const one = async (sub: string) => path.join(repo, sub, (await readdir(path.join(repo, sub)))[0]);
  const packPath = (id: string) => path.join(repo, 'data', id.slice(0, 2), id);
  const files: Record<FileKind, string> = {
    config: path.join(repo, 'config'),
    key: await one('keys'),
    lock: await one('locks'),
    snapshot: await one('snapshots'),
    index: await one('index'),
    'data pack': packPath(packsByType.data),
    'tree pack': packPath(packsByType.tree),
  };
  return { dir, repo, src, expected, files };
}

type Damage = { label: string; apply(file: string): Promise<void> };

function damages(size: number, r: () => number): Damage[] {
  const flip = (at: number): Damage => ({
    label: `byte ${at} flipped`,
    async apply(f) {
      const b = await readFile(f);
      b[at] ^= 1 << Math.floor(r() * 8);
      await writeFile(f, b);
    },
  });
  const cut = (len: number): Damage => ({ label: `truncated to ${len} bytes`, apply: (f) => truncate(f, len) });
  // mixed so that a short run (perFile) still has flips and truncations
  return [
    flip(0),
    cut(Math.floor(size / 2)),
    flip(Math.floor(size / 2)),
    cut(0),
    flip(size - 1),
    flip(Math.floor(r() * size)),
    cut(size - 1),
  ];
}

/** Runs the sweep; `perFile` limits the damages per file (all 7 by default); prints nothing. */
export async function damageSweep(o: { perFile?: number; seed?: number } = {}): Promise<SweepFigures> {
  const r = prng(o.seed ?? 1);
  const fx = await fixture();
  const f: SweepFigures = { cases: 0, detected: 0, harmless: 0, problems: [], byKind: {} };
  try {
    const cases: (() => Promise<void>)[] = [];
    for (const [kind, file] of Object.entries(fx.files) as [FileKind, string][]) {
      const size = (await stat(file)).size;
      for (const d of damages(size, r).slice(0, o.perFile ?? 7)) {
        cases.push(async () => {
          await oneCase(fx, kind, file, d, `${kind} ${path.basename(file).slice(0, 8)}: ${d.label}`, f);
          f.cases++;
          f.byKind[kind] = (f.byKind[kind] ?? 0) + 1;
        });
      }
    }
    // two cases at a time (each on its own copy): the machine has two cores
    const next = async (): Promise<void> => {
      for (let c = cases.shift(); c; c = cases.shift()) await c();
    };
    await Promise.all([next(), next()]);
  } finally {
    await rm(fx.dir, { recursive: true, force: true });
  }
  return f;
}

async function oneCase(
  fx: Fixture,
  kind: FileKind,
  file: string,
  d: Damage,
  label: string,
  f: SweepFigures,
): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'hoard-sweep-case-'));
  try {
    const repo = path.join(work, 'repo');
    await cp(fx.repo, repo, { recursive: true });
    const target = path.join(repo, path.relative(fx.repo, file));
    await chmod(target, 0o600);
    await d.apply(target);
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW };
    const check = await hoard(['check', '--read-data'], { env });
    const out = path.join(work, 'out');
    const restore = await hoard(['restore', 'latest', '--target', out], { env });
    for (const [what, res] of [
      ['check', check],
      ['restore', restore],
    ] as const) {
      if (!DOCUMENTED.has(res.code))
        f.problems.push(`${label}: ${what} exited ${res.code} (not a documented code): ${res.stderr.slice(0, 300)}`);
      if (/internal error|\n\s+at /.test(res.stderr))
        f.problems.push(`${label}: ${what} crashed: ${res.stderr.slice(0, 300)}`);
    }
    // every file under its final name is right, whatever the exit code
    let right = 0;
    for (const [rel, hash] of Object.entries(fx.expected)) {
      const p = path.join(out, 'src', rel);
      const got = await sha(p).catch(() => undefined);
      if (got === undefined) continue;
      if (got !== hash) f.problems.push(`${label}: restore left wrong bytes in ${rel} (exit ${restore.code})`);
      else right++;
    }
    const leftovers = await listAll(out).catch(() => [] as string[]);
    if (restore.code === 0 && right !== Object.keys(fx.expected).length)
      f.problems.push(`${label}: restore exited 0 but restored ${right} of ${Object.keys(fx.expected).length} files`);
    if (restore.code === 0 && leftovers.some((x) => /\.hoard-tmp|\.tmp/.test(x)))
      f.problems.push(`${label}: restore exited 0 and left temporary files`);
    const named = new RegExp(`${path.basename(file).slice(0, 8)}|config|key`).test(check.stdout + check.stderr);
    if (check.code === 0 && restore.code === 0) {
      if (ENCRYPTED.includes(kind))
        f.problems.push(`${label}: damage to an encrypted file went unnoticed by check --read-data`);
      else f.harmless++;
    } else if (check.code === 5 && !named && kind !== 'key' && kind !== 'config') {
      f.problems.push(
        `${label}: check failed without naming the damaged file: ${(check.stdout + check.stderr).slice(0, 300)}`,
      );
    } else if (kind === 'lock' && (check.code !== 0 || restore.code !== 0)) {
      f.problems.push(
        `${label}: a damaged lock stopped work: check ${check.code}, restore ${restore.code}: ${(check.stderr + restore.stderr).slice(0, 300)}`,
      );
    } else {
      f.detected++;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await listAll(p)));
  }
  return out;
}
