/**
 * hoard against restic on S3, same data, same server, same run: a BENCH_S3_MB (default 200) MiB
 * dump-like file backed up to, and restored from, a local S3-protocol server (s3rver), then a second
 * backup after ~1% changed. Both clients go through the same loopback proxy (it decodes the
 * aws-chunked uploads restic sends on plain HTTP, which s3rver cannot store; hoard's uploads pass
 * unchanged). Wall time and peak RSS from GNU time; stored bytes from the server's object files.
 * BENCH_DIR for the work folder. Needs restic and /usr/bin/time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measure, makeStream, requireTools, timed } from './measure.js';
import { startS3 } from '../test/helpers/remote.js';
import { textLike } from '../test/helpers/data.js';

const MB = Number(process.env.BENCH_S3_MB ?? 200);
const DIR = process.env.BENCH_DIR ? path.join(process.env.BENCH_DIR, 's3') : path.join(os.tmpdir(), 'hoard-bench-s3');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(HERE, '../src/cli/main.js');
const PROXY = path.resolve(HERE, '../test/helpers/aws-chunked-proxy.js');

/** Bytes of the objects stored under a bucket folder of s3rver (metadata files excluded). */
function stored(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += stored(p);
    else if (e.name.endsWith('._S3rver_object')) n += statSync(p).size;
  }
  return n;
}

async function main(): Promise<void> {
  requireTools([
    ['restic', 'restic'],
    ['/usr/bin/time', 'time'],
  ]);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(path.join(DIR, 'data'), { recursive: true });
  const file = path.join(DIR, 'data', 'dump.sql');
  console.log(`bench s3: writing a ${MB} MiB dump-like file in ${DIR}`);
  makeStream(file, MB, 21);
  const srv = await startS3(['bench']);
  const proxy = spawn(process.execPath, [PROXY, 'serve', srv.endpoint], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    let out = '';
    proxy.stdout!.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const base = `s3:http://127.0.0.1:${port}/bench`;
  const env = {
    ...process.env,
    ...srv.env,
    HOARD_PASSWORD: 'bench',
    RESTIC_PASSWORD: 'bench',
    RESTIC_CACHE_DIR: path.join(DIR, 'restic-cache'),
    HOARD_REPOSITORY: '',
    HOARD_CONFIG: '',
  };
  const run = (cmd: string) => timed(cmd, DIR, env);
  const rows: [string, Measure, Measure][] = [];
  try {
    run(`node ${CLI} init -r ${base}/hoard`);
    run(`restic -r ${base}/restic init`);
    rows.push(['backup', run(`node ${CLI} backup -r ${base}/hoard data`), run(`restic -r ${base}/restic backup data`)]);
    const size1 = [stored(path.join(srv.dir, 'bench', 'hoard')), stored(path.join(srv.dir, 'bench', 'restic'))];
    // ~1% changed: new rows appended, recent rows rewritten
    const data = readFileSync(file);
    const n = Math.floor(data.length / 200);
    textLike(n, 777).copy(data, data.length - 3 * n);
    writeFileSync(file, Buffer.concat([data, textLike(n, 778)]));
    rows.push([
      'second backup (~1% changed)',
      run(`node ${CLI} backup -r ${base}/hoard data`),
      run(`restic -r ${base}/restic backup data`),
    ]);
    const size2 = [stored(path.join(srv.dir, 'bench', 'hoard')), stored(path.join(srv.dir, 'bench', 'restic'))];
    rows.push([
      'restore',
      run(`node ${CLI} restore latest -r ${base}/hoard --target out-hoard`),
      run(`restic -r ${base}/restic restore latest --target out-restic`),
    ]);
    const mbs = (x: number) => (x / 1e6).toFixed(1);
    console.log(`\nS3 (s3rver on loopback), ${MB} MiB dump-like file\n`);
    console.log('| step | hoard s | restic s | ratio | hoard RSS MB | restic RSS MB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, h, r] of rows)
      console.log(
        `| ${name} | ${h.secs.toFixed(2)} | ${r.secs.toFixed(2)} | ${(h.secs / r.secs).toFixed(2)} | ${h.rssMB.toFixed(0)} | ${r.rssMB.toFixed(0)} |`,
      );
    console.log(
      `\nstored after the first backup: hoard ${mbs(size1[0])} MB, restic ${mbs(size1[1])} MB (ratio ${(size1[0] / size1[1]).toFixed(3)}); after the second: hoard ${mbs(size2[0])} MB, restic ${mbs(size2[1])} MB`,
    );
  } finally {
    proxy.kill('SIGTERM');
    await srv.stop();
    if (process.env.BENCH_KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
  }
}

await main();
