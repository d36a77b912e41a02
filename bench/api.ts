/**
 * The REST API under load, same run: the server's resident memory (VmRSS of the `hoard serve`
 * process, sampled every 20 ms) while it streams a 48 MiB and a BENCH_API_MB (default 200) MiB
 * dump as raw, gz and zstd downloads: memory that stays flat does not grow with the dump's size.
 * Then 50 concurrent GET /backups while a backup runs: every status, and the latencies.
 * For comparison, `hoard dump` of the same snapshot to a file under GNU time.
 *
 * BENCH_DIR for the work folder (BENCH_KEEP=1 keeps it). Needs /usr/bin/time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeStream, requireTools, timed } from './measure.js';

const BIG_MB = Number(process.env.BENCH_API_MB ?? 200);
const DIR = process.env.BENCH_DIR ? path.join(process.env.BENCH_DIR, 'api') : path.join(os.tmpdir(), 'hoard-bench-api');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const env: NodeJS.ProcessEnv = { ...process.env, HOARD_REPOSITORY: '', HOARD_PASSWORD: '', HOARD_CONFIG: '', CI: '' };

const hoard = (args: string[]) =>
  execFileSync(process.execPath, [CLI, ...args], { cwd: DIR, env, maxBuffer: 1 << 26 }).toString();
const rssMB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  requireTools([['/usr/bin/time', 'time']]);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  copyFileSync(path.join(ROOT, 'sample', 'app.db'), path.join(DIR, 'app.db'));
  console.log(`bench api: writing ${BIG_MB} MiB and 48 MiB dumps in ${DIR}`);
  makeStream(path.join(DIR, 'big.sql'), BIG_MB, 11);
  makeStream(path.join(DIR, 'small.sql'), 48, 12);
  hoard(['init', '--yes', '--no-backup']);
  const yaml = readFileSync(path.join(DIR, 'hoard.yaml'), 'utf8').replace(
    'sources:\n',
    'sources:\n  big: { type: files, paths: [big.sql] }\n  small: { type: files, paths: [small.sql] }\n',
  );
  writeFileSync(path.join(DIR, 'hoard.yaml'), yaml);
  hoard(['backup', 'big', 'small']);
  const ids = JSON.parse(hoard(['list', '--json'])) as { id: string; source: string }[];
  const tk = JSON.parse(hoard(['token', 'new', '--name', 'bench', '--scopes', 'admin', '--json'])) as {
    token: string;
    hash: string;
  };
  appendFileSync(
    path.join(DIR, 'hoard.yaml'),
    `server:\n  listen: 127.0.0.1:0\n  tokens:\n    - { name: bench, hash: "${tk.hash}", scopes: [admin] }\n`,
  );

  const server = spawn(process.execPath, [CLI, 'serve'], { cwd: DIR, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  server.stdout!.on('data', (d) => {
    out += d;
  });
  for (let i = 0; i < 100 && !/listening on (\S+)/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  const base = /listening on (\S+)/.exec(out)?.[1];
  if (!base) throw new Error(`hoard serve did not start: ${out}`);
  const auth = { authorization: `Bearer ${tk.token}` };
  try {
    await fetch(`${base}/backups`, { headers: auth }); // warm: the key is opened and cached
    const idle = rssMB(server.pid!);
    const rows: string[] = [
      '| download | bytes sent | seconds | MB/s | server RSS before | server RSS peak |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const source of ['small', 'big']) {
      const id = ids.find((x) => x.source === source)!.id;
      for (const format of ['raw', 'gz', 'zstd']) {
        const before = rssMB(server.pid!);
        let peak = before;
        const timer = setInterval(() => {
          peak = Math.max(peak, rssMB(server.pid!));
        }, 20);
        const t0 = performance.now();
        const res = await fetch(`${base}/backups/${id}/download?format=${format}`, { headers: auth });
        let n = 0;
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) n += c.length;
        const secs = (performance.now() - t0) / 1000;
        clearInterval(timer);
        const mb = statSync(path.join(DIR, `${source}.sql`)).size / 1048576;
        rows.push(
          `| ${mb} MiB ${format} | ${n} | ${secs.toFixed(2)} | ${((mb * 1.048576) / secs).toFixed(0)} | ${before.toFixed(0)} MB | ${peak.toFixed(0)} MB |`,
        );
      }
    }
    const cli = timed(
      `node ${CLI} dump ${ids.find((x) => x.source === 'big')!.id.slice(0, 8)} --output cli.sql --force`,
      DIR,
      env,
    );
    rows.push(
      `| ${BIG_MB} MiB raw via \`hoard dump\` (CLI, for comparison) | | ${cli.secs.toFixed(2)} | ${((BIG_MB * 1.048576) / cli.secs).toFixed(0)} | | ${cli.rssMB.toFixed(0)} MB (whole process) |`,
    );

    // 50 concurrent GET /backups while a backup of the big dump runs
    makeStream(path.join(DIR, 'big.sql'), BIG_MB, 99);
    const task = (await (
      await fetch(`${base}/backups`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"source":"big"}',
      })
    ).json()) as { task_id: string };
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let waves = 0;
    const running = async () =>
      ((await (await fetch(`${base}/tasks/${task.task_id}`, { headers: auth })).json()) as { task: { status: string } })
        .task.status === 'running';
    while (await running()) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const t0 = performance.now();
          const r = await fetch(`${base}/backups`, { headers: auth });
          await r.arrayBuffer();
          latencies.push(performance.now() - t0);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
      );
      waves++;
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);
    console.log(`\nserver RSS when idle: ${idle.toFixed(0)} MB\n`);
    console.log(rows.join('\n'));
    console.log(
      `\n50 concurrent GET /backups during a ${BIG_MB} MiB backup: ${waves} waves, ${latencies.length} requests, statuses ${[...statuses].map(([s, c]) => `${s}×${c}`).join(' ')}; latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${latencies.at(-1)!.toFixed(0)} ms; server RSS now ${rssMB(server.pid!).toFixed(0)} MB`,
    );
  } finally {
    server.kill('SIGTERM');
    if (process.env.BENCH_KEEP !== '1') setTimeout(() => rmSync(DIR, { recursive: true, force: true }), 500);
  }
}

await main();
