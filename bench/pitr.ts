/**
 * Point-in-time recovery under load: a cluster of the benchmark's own (initdb, pg_ctl, a free port)
 * runs pgbench for BENCH_PITR_SECS (120 s; BENCH_FORM=short: 20 s) while its archive_command hands
 * every WAL file to both `hoard wal push` and the PostgreSQL manual's `cp` archiving, one after the
 * other in alternating order, each timed (and hoard's peak RSS taken) per file. Reported: the cost
 * of one push against one cp, the archive throughput each could sustain, the bytes stored per hour
 * of WAL against the raw WAL, the archive lag (the RPO reached) sampled each second, a base backup
 * (`hoard wal base` against `pg_basebackup -F tar` into a folder), and a point-in-time restore to
 * the end of the run (`hoard restore --at … --start`, against untar + `restore_command = cp`),
 * alternating, each checked to hold the same rows. Needs the PostgreSQL server binaries
 * (initdb, pg_ctl, pgbench), GNU time and, as root, the postgres user. BENCH_DIR for the work folder.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PG_BIN, clusterUser, runAsCluster, startCluster, startDataDir } from '../test/helpers/pg-cluster.js';
import { CLI } from '../test/helpers/services.js';

const SHORT = (process.env.BENCH_FORM ?? 'short') === 'short';
const SECS = Number(process.env.BENCH_PITR_SECS ?? (SHORT ? 20 : 120));
const ROUNDS = SHORT ? 1 : 2;
const SCALE = SHORT ? 5 : 20;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : Number.NaN;
};
const p90 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] : Number.NaN;
};
const du = (p: string) => Number(execFileSync('du', ['-sb', p]).toString().split('\t')[0]);
const f2 = (n: number) => n.toFixed(2);
const mb = (b: number) => (b / 1e6).toFixed(1);

/** The archive_command: cp and hoard wal push in alternating order, each timed, into `log`. */
function wrapper(dir: string, config: string, archive: string): string {
  const file = path.join(dir, 'archive.sh');
  fs.writeFileSync(
    file,
    `#!/bin/bash
set -e
p="$1"; f="$2"; log="${dir}/archive.log"
now() { date +%s%N; }
do_cp() { a=$(now); test -f "${archive}/$f" || cp "$p" "${archive}/$f"; cp_ns=$(( $(now) - a )); }
do_hoard() { a=$(now); /usr/bin/time -f %M -o "${dir}/rss.$$" "${process.execPath}" "${CLI}" wal push --config "${config}" "$p" >/dev/null; h_ns=$(( $(now) - a )); }
if [[ "$f" =~ ^[0-9A-F]{23}[02468ACE]$ ]]; then do_cp; do_hoard; else do_hoard; do_cp; fi
echo "$f $cp_ns $h_ns $(cat "${dir}/rss.$$") $(stat -c %s "$p")" >> "$log"
rm -f "${dir}/rss.$$"
`,
    { mode: 0o755 },
  );
  return file;
}

async function main(): Promise<void> {
  if (!PG_BIN || !fs.existsSync(path.join(PG_BIN, 'pgbench'))) {
    console.error(
      'bench: the PostgreSQL server binaries (initdb, pg_ctl, pgbench) are missing: apt-get install -y postgresql',
    );
    process.exit(2);
  }
  const cleanups: (() => Promise<void>)[] = [];
  const t = { after: (fn: () => Promise<void>) => cleanups.unshift(fn) } as never;
  try {
    await run(t);
  } finally {
    for (const fn of cleanups) await fn().catch(() => {});
  }
}

async function run(t: never): Promise<void> {
  const user = clusterUser();
  // the cluster first (it makes the folder), then its archive_command pointed at the wrapper
  const c = await startCluster(t, { settings: ['max_wal_size = 1GB', 'checkpoint_timeout = 5min'] });
  const archive = path.join(c.dir, 'cp-archive');
  fs.mkdirSync(archive);
  if (user) fs.chownSync(archive, user.uid, user.gid);
  const script = wrapper(c.dir, c.config, archive);
  fs.appendFileSync(path.join(c.data, 'postgresql.conf'), `archive_command = '${script} %p %f'\n`);
  await c.sql('SELECT pg_reload_conf()');
  const bin = (x: string) => path.join(PG_BIN!, x);
  const pgArgs = ['-h', '127.0.0.1', '-p', String(c.port), '-U', 'postgres', 'postgres'];
  const must = async (r: Promise<{ code: number; stderr: string; stdout: string }>, what: string) => {
    const x = await r;
    if (x.code !== 0) throw new Error(`${what} failed: ${x.stderr}${x.stdout}`);
    return x;
  };
  await must(runAsCluster(bin('pgbench'), ['-i', '-q', '-s', String(SCALE), ...pgArgs]), 'pgbench -i');

  // base backups, alternating
  const base: { hoard: number[]; pg: number[]; hoardBytes: number[]; pgBytes: number[] } = {
    hoard: [],
    pg: [],
    hoardBytes: [],
    pgBytes: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    const repoBefore = du(c.repo);
    let a = Date.now();
    await must(c.hoard(['wal', 'base']), 'hoard wal base');
    base.hoard.push((Date.now() - a) / 1000);
    base.hoardBytes.push(du(c.repo) - repoBefore);
    const out = path.join(c.dir, `pg-base-${r}`);
    a = Date.now();
    await must(
      runAsCluster(bin('pg_basebackup'), [
        '-D',
        out,
        '-F',
        'tar',
        '-X',
        'none',
        '-c',
        'fast',
        '-h',
        '127.0.0.1',
        '-p',
        String(c.port),
        '-U',
        'postgres',
      ]),
      'pg_basebackup',
    );
    base.pg.push((Date.now() - a) / 1000);
    base.pgBytes.push(du(out));
  }
  const repoAtStart = du(c.repo);
  const archiveAtStart = du(archive);
  fs.writeFileSync(path.join(c.dir, 'archive.log'), '');

  // pgbench, with the archive lag sampled every second
  const lags: number[] = [];
  const backlogs: number[] = [];
  const bench = runAsCluster(bin('pgbench'), ['-c', '4', '-j', '2', '-T', String(SECS), '-n', ...pgArgs], {
    timeoutMs: (SECS + 600) * 1000,
  });
  let done = false;
  void bench.then(() => {
    done = true;
  });
  const started = Date.now();
  while (!done) {
    await new Promise((r) => setTimeout(r, 1000));
    const row = await c
      .sql(
        "SELECT coalesce(extract(epoch FROM now() - last_archived_time), -1), pg_walfile_name(pg_current_wal_lsn()), coalesce(last_archived_wal, '') FROM pg_stat_archiver",
      )
      .catch(() => '');
    const [lag, cur, last] = row.split('|');
    if (Number(lag) >= 0) lags.push(Number(lag));
    if (last && /^[0-9A-F]{24}$/.test(last))
      backlogs.push(Number.parseInt(cur.slice(8), 16) - Number.parseInt(last.slice(8), 16) - 1);
  }
  const tps = /tps = ([\d.]+)/.exec((await bench).stdout)?.[1] ?? '?';
  const benchSecs = (Date.now() - started) / 1000;
  const drainFrom = Date.now();
  await c.switchAndWait();
  const drainSecs = (Date.now() - drainFrom) / 1000;
  const rows = await c.sql('SELECT count(*) FROM pgbench_history');
  const status = JSON.parse((await c.hoard(['wal', 'status', '--json'])).stdout);
  const at = status.newest_archived_at as string;

  const log = fs
    .readFileSync(path.join(c.dir, 'archive.log'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .map(([f, cpNs, hNs, rss, size]) => ({
      f,
      cp: Number(cpNs) / 1e9,
      hoard: Number(hNs) / 1e9,
      rss: Number(rss) / 1024,
      size: Number(size),
    }));
  const segs = log.filter((x) => /^[0-9A-F]{24}$/.test(x.f));
  const rawBytes = du(archive) - archiveAtStart;
  const storedBytes = du(c.repo) - repoAtStart;
  const walSecs = benchSecs + drainSecs;

  // point-in-time restores to the end of the run, alternating
  const restore: { hoard: number[]; cp: number[]; hoardRss: number } = { hoard: [], cp: [], hoardRss: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    let a = Date.now();
    const h = await c.restored(['--at', at], `hoard-restore-${r}`, 'SELECT count(*) FROM pgbench_history');
    restore.hoard.push((Date.now() - a) / 1000);
    if (h.rows !== rows) throw new Error(`hoard's restore holds ${h.rows} rows, the server ${rows}`);
    a = Date.now();
    const got = await cpRestore(c, path.join(c.dir, 'pg-base-0', 'base.tar'), archive, r);
    restore.cp.push((Date.now() - a) / 1000);
    if (got !== rows) throw new Error(`the cp restore holds ${got} rows, the server ${rows}`);
  }

  const pushCost = median(segs.map((x) => x.hoard));
  const cpCost = median(segs.map((x) => x.cp));
  const segMB = (segs[0]?.size ?? 16 << 20) / 1e6;
  const version = (await c.sql('SHOW server_version')).split(' ')[0];
  console.log(
    `\n## Point-in-time recovery: pgbench -c 4 -j 2 (scale ${SCALE}) for ${SECS} s, PostgreSQL ${version}; ${SHORT ? 'short' : 'full'} form, ${ROUNDS} round(s) of base backup and restore\n`,
  );
  console.log(
    `pgbench: ${tps} tps; ${segs.length} WAL segments (${mb(rawBytes)} MB raw) archived by both in ${f2(walSecs)} s; ${rows} history rows\n`,
  );
  console.log('| measure | hoard | pg_basebackup + cp | hoard / cp |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| one WAL file archived (median, p90) | ${f2(pushCost)} s, ${f2(p90(segs.map((x) => x.hoard)))} s | ${f2(cpCost)} s, ${f2(p90(segs.map((x) => x.cp)))} s | ${f2(pushCost / cpCost)} |`,
  );
  console.log(
    `| peak RSS of one push (median, max) | ${median(segs.map((x) => x.rss)).toFixed(0)} MB, ${Math.max(...segs.map((x) => x.rss)).toFixed(0)} MB | - | - |`,
  );
  console.log(
    `| sustainable archive throughput (one file at a time) | ${f2(segMB / pushCost)} MB/s | ${f2(segMB / cpCost)} MB/s | ${f2(cpCost / pushCost)} |`,
  );
  console.log(
    `| stored per hour of this WAL | ${mb((storedBytes / walSecs) * 3600)} MB | ${mb((rawBytes / walSecs) * 3600)} MB | ${f2(storedBytes / rawBytes)} |`,
  );
  console.log(
    `| base backup (median; bytes each round) | ${f2(median(base.hoard))} s, ${base.hoardBytes.map(mb).join(' then ')} MB added | ${f2(median(base.pg))} s, ${base.pgBytes.map(mb).join(' then ')} MB | ${f2(median(base.hoard) / median(base.pg))} |`,
  );
  console.log(
    `| restore to the end of the run, started and recovered (median) | ${f2(median(restore.hoard))} s | ${f2(median(restore.cp))} s | ${f2(median(restore.hoard) / median(restore.cp))} |`,
  );
  console.log(
    `\narchive lag during the run (now − last archived, the RPO reached): median ${f2(median(lags))} s, max ${f2(Math.max(...lags, 0))} s; backlog max ${Math.max(0, ...backlogs)} segment(s) waiting; ${f2(drainSecs)} s to drain after the run. Both archivers ran in one archive_command, so the lag is that of the pair.`,
  );
}

/** The manual's recovery: untar the base backup, restore_command = cp, start, wait; its row count. */
async function cpRestore(
  c: Awaited<ReturnType<typeof startCluster>>,
  tar: string,
  archive: string,
  r: number,
): Promise<string> {
  const dir = path.join(c.dir, `cp-restore-${r}`);
  const _user = clusterUser();
  fs.mkdirSync(dir, { mode: 0o700 });
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  fs.appendFileSync(
    path.join(dir, 'postgresql.auto.conf'),
    `restore_command = 'cp ${archive}/%f %p'\nrecovery_target_action = 'promote'\narchive_mode = off\n`,
  );
  fs.writeFileSync(path.join(dir, 'recovery.signal'), '');
  const { port, stop } = await startDataDir(dir, {
    log: path.join(dir, 'log'),
    options: '-c unix_socket_directories=',
  });
  try {
    for (let i = 0; i < 6000; i++) {
      const row = await c.sql('SELECT pg_is_in_recovery()', port).catch(() => '');
      if (row === 'f') return await c.sql('SELECT count(*) FROM pgbench_history', port);
      if (!fs.existsSync(path.join(dir, 'postmaster.pid')))
        throw new Error(`the cp restore stopped: ${fs.readFileSync(path.join(dir, 'log'), 'utf8').slice(-2000)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('the cp restore did not finish recovery in 10 minutes');
  } finally {
    await stop();
  }
}

await main();
