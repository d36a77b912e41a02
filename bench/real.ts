/**
 * hoard, restic and borg on real data that nobody here wrote: the Linux kernel source trees of
 * Debian's linux-source-6.1 and linux-source-6.12 packages (the benchmark unpacks them itself), the
 * 6.12 tree's files over 1 MiB on their own, and a tree of small files cut from the 6.1 tree's
 * text. The tools alternate case by case in each round (the order turns each round), each with its
 * own repository; every round starts from empty repositories. Reported per case: the median wall
 * time, the hoard/restic and hoard/borg ratio of each round (min–max), CPU seconds, peak RSS and
 * stored bytes.
 *
 * Cases: first backup of 6.1; 6.12 into the same repository; 6.12 again unchanged; restore of the
 * 6.12 snapshot; check --read-data (borg: check --verify-data); prune after forgetting 6.1 (borg:
 * delete, then compact is timed); the large files; the small files, backed up and restored.
 *
 * BENCH_FORM=short (the default) unpacks only a few top-level folders of each tree, cuts 20,000
 * small files and runs one round: a few minutes. BENCH_FORM=full unpacks the whole trees, cuts
 * 200,000 files and runs BENCH_ROUNDS rounds (default 3): what the targets are judged on.
 * BENCH_TOOLS (default "hoard,restic,borg") picks the tools; BENCH_DIR the work folder (default
 * /dev/shm/hoard-real: data, repositories and restores in memory, so the disk does not bound it);
 * BENCH_OUT a file for the JSON results. Needs the two linux-source packages, restic, borg
 * (borgbackup), GNU time and xz.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measure, du, requireTools, timed } from './measure.js';

const FULL = process.env.BENCH_FORM === 'full';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (FULL ? 3 : 1));
const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? (FULL ? 200_000 : 20_000));
const TOOLS = (process.env.BENCH_TOOLS ?? 'hoard,restic,borg').split(',');
const DIR =
  process.env.BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm/hoard-real' : path.join(os.tmpdir(), 'hoard-real'));
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const PW = 'bench-password';
const SHORT_PARTS = ['fs', 'kernel', 'include', 'Documentation/admin-guide'];
const env = {
  ...process.env,
  HOARD_PASSWORD: PW,
  RESTIC_PASSWORD: PW,
  BORG_PASSPHRASE: PW,
  RESTIC_CACHE_DIR: path.join(DIR, 'restic-cache'),
  BORG_BASE_DIR: path.join(DIR, 'borg-base'),
  BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
};
const sh = (cmd: string): string =>
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: DIR, env, maxBuffer: 1 << 28 }).toString();

/** What each tool runs; `repo` and paths are relative to DIR. */
interface Tool {
  init(repo: string): string;
  backup(repo: string, src: string, name: string): string;
  restore(repo: string, name: string, target: string): string;
  check(repo: string): string;
  /** Untimed: forgets the snapshot of `src` (named `name`). */
  forget(repo: string, src: string, name: string): string;
  prune(repo: string): string;
}

/** The id of the snapshot of `src` in a hoard or restic repository (snapshots --json). */
const snapshotOf = (cmd: string, src: string): string => {
  const list = JSON.parse(sh(cmd)) as { id: string; paths: string[] }[];
  return list.find((s) => s.paths.length === 1 && s.paths[0] === path.join(DIR, src))!.id;
};

const hoard = `node ${CLI}`;
const TOOL: Record<string, Tool> = {
  hoard: {
    init: (r) => `${hoard} init -r ${r} >/dev/null`,
    backup: (r, s) => `${hoard} backup -r ${r} ${s} >/dev/null`,
    restore: (r, _n, t) => `${hoard} restore -r ${r} latest --target ${t} >/dev/null`,
    check: (r) => `${hoard} check -r ${r} --read-data >/dev/null`,
    forget: (r, s) => `${hoard} forget -r ${r} ${snapshotOf(`${hoard} snapshots -r ${r} --json`, s)} >/dev/null`,
    prune: (r) => `${hoard} prune -r ${r} >/dev/null`,
  },
  restic: {
    init: (r) => `restic init -q -r ${r}`,
    backup: (r, s) => `restic backup -q -r ${r} ${s}`,
    restore: (r, _n, t) => `restic restore -q -r ${r} latest --target ${t}`,
    check: (r) => `restic check -q -r ${r} --read-data >/dev/null`,
    forget: (r, s) => `restic forget -q -r ${r} ${snapshotOf(`restic snapshots -r ${r} --json`, s)}`,
    prune: (r) => `restic prune -q -r ${r}`,
  },
  borg: {
    init: (r) => `borg init -e repokey-blake2 ${r} >/dev/null 2>&1`,
    backup: (r, s, n) => `borg create --compression zstd,3 ${r}::${n} ${s}`,
    restore: (r, n, t) => `mkdir -p ${t} && cd ${t} && borg extract ${path.join(DIR, r)}::${n}`,
    check: (r) => `borg check --verify-data ${r}`,
    forget: (r, _s, n) => `borg delete ${r}::${n}`,
    prune: (r) => `borg compact ${r}`,
  },
};

/** Unpacks a linux-source package's tarball into DIR (only SHORT_PARTS in the short form); returns the folder. */
function unpack(version: string): string {
  const tar = `/usr/src/linux-source-${version}.tar.xz`;
  const folder = `linux-source-${version}`;
  if (existsSync(path.join(DIR, folder))) return folder;
  const parts = FULL ? [] : SHORT_PARTS.map((p) => `${folder}/${p}`);
  console.error(`unpacking ${tar}${FULL ? '' : ` (${SHORT_PARTS.join(', ')})`} ...`);
  execFileSync('tar', ['-xJf', tar, '-C', DIR, ...parts]);
  return folder;
}

/** Unpacks the files over 1 MiB of a linux-source package's tarball into `dst` (the same files in both forms). */
function largeFiles(version: string, dst: string): void {
  const tar = `/usr/src/linux-source-${version}.tar.xz`;
  const big = sh(`tar -tvJf ${tar}`)
    .split('\n')
    .filter((l) => l.startsWith('-') && Number(l.split(/\s+/)[2]) > 1024 * 1024)
    .map((l) => l.split(/\s+/).slice(5).join(' '));
  mkdirSync(path.join(DIR, dst), { recursive: true });
  execFileSync('tar', ['-xJf', tar, '-C', path.join(DIR, dst), '--strip-components=1', ...big]);
}

/**
 * Cuts `count` files from the text of `src`'s .c, .h and .rst files, in path order: sizes from 64 B
 * to 16 KiB (log-uniform from a fixed seed), 200 files a folder, 100 folders a parent.
 */
function smallFiles(src: string, dst: string, count: number): void {
  const texts: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(c|h|rst)$/.test(e.name)) texts.push(p);
    }
  };
  walk(path.join(DIR, src));
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let buf = Buffer.alloc(0),
    next = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(64 * 256 ** rand());
    while (buf.length < size) buf = Buffer.concat([buf, readFileSync(texts[next++ % texts.length])]);
    const folder = path.join(DIR, dst, `p${Math.floor(i / 20000)}`, `d${Math.floor(i / 200) % 100}`);
    if (i % 200 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `f${i}.txt`), buf.subarray(0, size));
    buf = buf.subarray(size);
  }
}

interface Sample {
  m: Measure;
  storedMB?: number;
}
const results = new Map<string, Map<string, Sample[]>>();
const record = (c: string, tool: string, s: Sample) => {
  if (!results.has(c)) results.set(c, new Map());
  const byTool = results.get(c)!;
  byTool.set(tool, [...(byTool.get(tool) ?? []), s]);
};

/** Runs `step` for each tool in `order`, timing what it returns; `size` names the repository whose size to record. */
function each(
  label: string,
  order: string[],
  step: (t: Tool, tool: string) => { cmd: string; repo?: string; before?: string; after?: string },
): void {
  for (const tool of order) {
    const s = step(TOOL[tool], tool);
    if (s.before) sh(s.before);
    const m = timed(s.cmd, DIR, env);
    if (s.after) sh(s.after);
    record(label, tool, { m, ...(s.repo ? { storedMB: du(path.join(DIR, s.repo)) } : {}) });
    console.error(`  ${label}, ${tool}: ${m.secs.toFixed(2)} s, ${m.cpu.toFixed(1)} CPU-s, ${m.rssMB.toFixed(0)} MB`);
  }
}

function round(n: number, k61: string, k612: string): void {
  const order = TOOLS.map((_, i) => TOOLS[(i + n) % TOOLS.length]);
  console.error(`round ${n + 1} of ${ROUNDS}: ${order.join(', ')}`);
  for (const tool of TOOLS) {
    for (const r of ['repo', 'repo-large', 'repo-small'])
      rmSync(path.join(DIR, `${r}-${tool}`), { recursive: true, force: true });
    for (const r of ['repo', 'repo-large', 'repo-small']) sh(TOOL[tool].init(`${r}-${tool}`));
  }
  const repo = (tool: string) => `repo-${tool}`;
  each('first backup of the 6.1 tree', order, (t, tool) => ({
    cmd: t.backup(repo(tool), k61, 'k61'),
    repo: repo(tool),
  }));
  each('6.12 into the same repository', order, (t, tool) => ({
    cmd: t.backup(repo(tool), k612, 'k612'),
    repo: repo(tool),
  }));
  each('unchanged second backup of 6.12', order, (t, tool) => ({
    cmd: t.backup(repo(tool), k612, 'k612b'),
    repo: repo(tool),
  }));
  each('restore of 6.12', order, (t, tool) => ({
    cmd: t.restore(repo(tool), 'k612b', `out-${tool}`),
    after: `rm -rf out-${tool}`,
  }));
  each('check --read-data', order, (t, tool) => ({ cmd: t.check(repo(tool)) }));
  each('prune after forgetting 6.1', order, (t, tool) => ({
    before: t.forget(repo(tool), k61, 'k61'),
    cmd: t.prune(repo(tool)),
    repo: repo(tool),
  }));
  each('the 6.12 files over 1 MiB', order, (t, tool) => ({
    cmd: t.backup(`repo-large-${tool}`, 'large', 'large'),
    repo: `repo-large-${tool}`,
  }));
  each(`${SMALL_FILES.toLocaleString('en')} small files: backup`, order, (t, tool) => ({
    cmd: t.backup(`repo-small-${tool}`, 'small', 'small'),
    repo: `repo-small-${tool}`,
  }));
  each(`${SMALL_FILES.toLocaleString('en')} small files: restore`, order, (t, tool) => ({
    cmd: t.restore(`repo-small-${tool}`, 'small', `out-${tool}`),
    after: `rm -rf out-${tool}`,
  }));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f2 = (x: number) => x.toFixed(2);

/** hoard's time over `other`'s, per round: "min–max" (one figure for one round). */
function spread(h: Sample[], o: Sample[] | undefined): string {
  if (!o) return '';
  const r = h.map((s, i) => s.m.secs / o[i].m.secs);
  const lo = Math.min(...r),
    hi = Math.max(...r);
  return lo === hi ? f2(lo) : `${f2(lo)}–${f2(hi)}`;
}

function table(): string {
  const others = TOOLS.filter((t) => t !== 'hoard');
  const cell = (s: Sample[] | undefined) =>
    s
      ? `${f2(median(s.map((x) => x.m.secs)))} s, ${median(s.map((x) => x.m.cpu)).toFixed(1)} CPU-s, ${Math.max(...s.map((x) => x.m.rssMB)).toFixed(0)} MB${s[0].storedMB !== undefined ? `, ${median(s.map((x) => x.storedMB!)).toFixed(0)} MB stored` : ''}`
      : '';
  const head = `| case | ${TOOLS.join(' | ')} | ${others.map((o) => `hoard/${o}`).join(' | ')} |`;
  const rows = [...results].map(
    ([c, by]) =>
      `| ${c} | ${TOOLS.map((t) => cell(by.get(t))).join(' | ')} | ${others.map((o) => spread(by.get('hoard') ?? [], by.get(o))).join(' | ')} |`,
  );
  return [
    head,
    `| --- | ${TOOLS.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} |`,
    ...rows,
  ].join('\n');
}

function main(): void {
  requireTools([
    ['/usr/bin/time', 'time'],
    ['xz', 'xz-utils'],
    ...TOOLS.filter((t) => t !== 'hoard').map((t): [string, string] => [t, t === 'borg' ? 'borgbackup' : t]),
  ]);
  for (const v of ['6.1', '6.12']) {
    if (!existsSync(`/usr/src/linux-source-${v}.tar.xz`)) {
      console.error(
        `bench: /usr/src/linux-source-${v}.tar.xz is missing; install it with: apt-get install -y linux-source-${v}`,
      );
      process.exit(2);
    }
  }
  mkdirSync(DIR, { recursive: true });
  const stamp = path.join(DIR, 'form');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== `${FULL}-${SMALL_FILES}`) {
    for (const e of readdirSync(DIR)) rmSync(path.join(DIR, e), { recursive: true, force: true });
  }
  writeFileSync(stamp, `${FULL}-${SMALL_FILES}`);
  const k61 = unpack('6.1'),
    k612 = unpack('6.12');
  if (!existsSync(path.join(DIR, 'large'))) largeFiles('6.12', 'large');
  if (!existsSync(path.join(DIR, 'small'))) smallFiles(k61, 'small', SMALL_FILES);
  const files = (p: string) => Number(sh(`find ${p} -type f | wc -l`));
  console.error(
    `data: ${k61} ${files(k61)} files, ${(du(path.join(DIR, k61))).toFixed(0)} MB; ${k612} ${files(k612)} files; large ${files('large')} files, ${du(path.join(DIR, 'large')).toFixed(0)} MB; small ${files('small')} files, ${du(path.join(DIR, 'small')).toFixed(0)} MB`,
  );
  for (let n = 0; n < ROUNDS; n++) round(n, k61, k612);
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.dirname(CLI) })
        .toString()
        .trim();
    } catch {
      return 'unknown';
    }
  })();
  const versions = TOOLS.filter((t) => t !== 'hoard')
    .map((t) => sh(`${t} --version 2>/dev/null || ${t} version`).trim().split('\n')[0])
    .join(', ');
  console.log(
    `hoard ${commit} against ${versions}; ${FULL ? 'full' : 'short'} form, ${ROUNDS} round(s), ${os.cpus().length} cores; medians, peak RSS, per-round time ratios (min–max)\n`,
  );
  console.log(table());
  if (process.env.BENCH_OUT)
    writeFileSync(
      process.env.BENCH_OUT,
      JSON.stringify(
        {
          commit,
          full: FULL,
          rounds: ROUNDS,
          results: Object.fromEntries([...results].map(([c, by]) => [c, Object.fromEntries(by)])),
        },
        null,
        1,
      ),
    );
}

main();
