/**
 * hoard against restic on the same data in the same run: wall time, peak RSS (GNU time) and
 * repository size for (a) a dump-like stream, (b) a tree of many files, (c) second backups after
 * ~1% changed, (d) restores, (e) prune of two copies of one repository after forgetting the first
 * backups. Also the floor: reading the stream to /dev/null.
 *
 * Sizes: BENCH_STREAM_MB (default 500), BENCH_FILES (default 20000); BENCH_DIR for the work folder.
 * Needs restic and /usr/bin/time (Debian packages restic and time).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Measure, du, makeStream, requireTools, timed as measure } from './measure.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng, textLike } from '../test/helpers/data.js';

const STREAM_MB = Number(process.env.BENCH_STREAM_MB ?? 500);
const FILES = Number(process.env.BENCH_FILES ?? 20000);
const DIR = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'hoard-bench');
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const PW = 'bench-password';
const env = {
  ...process.env,
  HOARD_PASSWORD: PW,
  RESTIC_PASSWORD: PW,
  RESTIC_CACHE_DIR: path.join(DIR, 'restic-cache'),
};

const timed = (cmd: string, cwd = DIR) => measure(cmd, cwd, env);

/** A copy of the stream with ~1% of it rewritten: new rows appended and recent rows updated, as applications change a dump. */
function changeStream(src: string, dst: string): void {
  const data = readFileSync(src);
  const out = Buffer.from(data);
  const n = Math.floor(data.length / 200);
  textLike(n, 777).copy(out, data.length - 3 * n); // recent rows updated near the end
  writeFileSync(dst, Buffer.concat([out, textLike(n, 778)])); // and new rows appended
}

function makeTree(root: string, files: number): void {
  const r = prng(5);
  for (let i = 0; i < files; i++) {
    const d = path.join(root, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    const size = Math.floor(200 + r() ** 3 * 48 * 1024);
    writeFileSync(path.join(d, `f${i}.txt`), textLike(size, i));
  }
}

function changeTree(root: string, files: number): void {
  for (let i = 0; i < files; i += 100)
    writeFileSync(path.join(root, `d${Math.floor(i / 100)}`, `f${i}.txt`), textLike(5000, 100000 + i));
}

type Row = { case: string; hoard: Measure; restic: Measure; hoardMB?: number; resticMB?: number };

function main(): void {
  requireTools([
    ['/usr/bin/time', 'time'],
    ['restic', 'restic'],
    ['zstd', 'zstd'],
  ]);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  console.error(`generating ${STREAM_MB} MB stream and ${FILES} files in ${DIR} ...`);
  makeStream(path.join(DIR, 'dump.sql'), STREAM_MB, 1);
  changeStream(path.join(DIR, 'dump.sql'), path.join(DIR, 'dump2.sql'));
  makeTree(path.join(DIR, 'tree'), FILES);
  const hoard = `node ${CLI}`;
  const rows: Row[] = [];
  const floor = timed('cat dump.sql > /dev/null');
  const zstdRef = timed('zstd -3 -c dump.sql > /dev/null');
  for (const tool of ['hoard', 'restic'])
    execFileSync('sh', ['-c', `${tool === 'hoard' ? hoard : 'restic'} init -r ${tool}-repo >/dev/null`], {
      cwd: DIR,
      env,
    });
  const both = (label: string, h: string, r: string, sizes = true) => {
    const hm = timed(h),
      rm = timed(r);
    rows.push({
      case: label,
      hoard: hm,
      restic: rm,
      ...(sizes ? { hoardMB: du(path.join(DIR, 'hoard-repo')), resticMB: du(path.join(DIR, 'restic-repo')) } : {}),
    });
    console.error(`${label}: hoard ${hm.secs}s, restic ${rm.secs}s`);
  };
  both(
    `(a) stream ${STREAM_MB} MB`,
    `${hoard} backup -r hoard-repo --stdin --stdin-filename dump.sql < dump.sql`,
    'restic backup -q -r restic-repo --stdin --stdin-filename dump.sql < dump.sql',
  );
  both(`(b) tree ${FILES} files`, `${hoard} backup -r hoard-repo tree`, 'restic backup -q -r restic-repo tree');
  changeTree(path.join(DIR, 'tree'), FILES);
  both(
    '(c) stream after 1% change',
    `${hoard} backup -r hoard-repo --stdin --stdin-filename dump.sql < dump2.sql`,
    'restic backup -q -r restic-repo --stdin --stdin-filename dump.sql < dump2.sql',
  );
  both('(c) tree after 1% change', `${hoard} backup -r hoard-repo tree`, 'restic backup -q -r restic-repo tree');
  both(
    '(d) restore tree',
    `${hoard} restore -r hoard-repo latest --target out-h`,
    'restic restore -q -r restic-repo latest --target out-r',
    false,
  );
  both(
    '(d) restore stream (dump)',
    `${hoard} dump -r hoard-repo $(${hoard} snapshots -r hoard-repo --json | node -e "const s=JSON.parse(require('fs').readFileSync(0));console.log(s.find(x=>x.paths[0]==='/dump.sql'&&x===s.filter(y=>y.paths[0]==='/dump.sql').at(-1)).id)") dump.sql > /dev/null`,
    `restic dump -q -r restic-repo $(restic snapshots -r restic-repo --json --path /dump.sql | node -e "const s=JSON.parse(require('fs').readFileSync(0));console.log(s.at(-1).id)") /dump.sql > /dev/null`,
    false,
  );
  // (e) prune: two copies of hoard's repository with the same snapshots forgotten (the first stream
  // and tree backups, whose changed 1% becomes garbage), pruned by hoard and by restic
  for (const d of ['prune-h', 'prune-r']) execFileSync('cp', ['-r', 'hoard-repo', d], { cwd: DIR });
  const snaps = JSON.parse(
    execFileSync('sh', ['-c', `${hoard} snapshots -r prune-h --json`], { cwd: DIR, env }).toString(),
  ) as { id: string }[];
  const gone = snaps.slice(0, 2).map((x) => x.id);
  for (const d of ['prune-h', 'prune-r'])
    execFileSync('sh', ['-c', `${hoard} forget -r ${d} ${gone.join(' ')} >/dev/null`], { cwd: DIR, env });
  const before = du(path.join(DIR, 'prune-h'));
  const ph = timed(`${hoard} prune -r prune-h`),
    pr = timed('restic prune -q -r prune-r');
  rows.push({
    case: '(e) prune (copies of one repository)',
    hoard: ph,
    restic: pr,
    hoardMB: du(path.join(DIR, 'prune-h')),
    resticMB: du(path.join(DIR, 'prune-r')),
  });
  console.error(`(e) prune: hoard ${ph.secs}s, restic ${pr.secs}s (repository ${before.toFixed(1)} MB before)`);

  const f = (n: number) => n.toFixed(2);
  const lines = [
    `hoard vs restic ${execFileSync('restic', ['version']).toString().split(' ')[1]}, ${os.cpus().length} cores, same data, same run`,
    '',
    '| case | hoard s | restic s | time ratio | hoard peak RSS MB | restic peak RSS MB | hoard repo MB ' +
      '| restic repo MB | size ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.case} | ${f(r.hoard.secs)} | ${f(r.restic.secs)} | ${f(r.hoard.secs / r.restic.secs)} | ${r.hoard.rssMB.toFixed(0)} | ${r.restic.rssMB.toFixed(0)} | ${r.hoardMB?.toFixed(1) ?? ''} | ${r.resticMB?.toFixed(1) ?? ''} | ${r.hoardMB ? f(r.hoardMB / r.resticMB!) : ''} |`,
    ),
    '',
    `stream: ${STREAM_MB} MB; reading it to /dev/null took ${f(floor.secs)} s (${(STREAM_MB / Math.max(floor.secs, 0.01)).toFixed(0)} MB/s), zstd -3 alone ${f(zstdRef.secs)} s; hoard backed it up at ${(STREAM_MB / rows[0].hoard.secs).toFixed(0)} MB/s, restic at ${(STREAM_MB / rows[0].restic.secs).toFixed(0)} MB/s.`,
  ];
  console.log(lines.join('\n'));
  if (process.env.BENCH_KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
}

main();
