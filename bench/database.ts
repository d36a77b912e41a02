/**
 * PostgreSQL backups on application-like data, same database, same run: hoard backup --db against
 * `pg_dump | gzip`, `pg_dump | zstd -3` and `pg_dump | restic backup --stdin`, each also as a
 * multiple of `pg_dump > /dev/null` alone (the floor: the server and pg_dump's own work). Then second
 * backups (hoard and restic) after ~1% of rows changed the way applications change them (new rows
 * appended, recent rows updated) and after 1% of rows changed at random.
 *
 * The data: users, orders and events with names, e-mail addresses, JSON, free text and timestamps,
 * generated inside the server with a fixed seed; its plain dump compresses 2–6× with zstd -3 (the
 * run stops if it does not). Size: BENCH_DB_MB (default 500) MB of plain dump. BENCH_DIR for the
 * work folder. Needs the PostgreSQL server on 127.0.0.1 (trust auth), pg_dump, psql, restic, zstd,
 * gzip and GNU time. Creates and drops its own database (BENCH_KEEP=1 keeps it and the work folder).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measure, du, requireTools, timed as measure } from './measure.js';

const MB = Number(process.env.BENCH_DB_MB ?? 500);
const DIR = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'hoard-bench-db');
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const DB = `hoard_bench_${process.pid}`;
const URL = `postgres://127.0.0.1:5432/${DB}`;
const PW = 'bench-password';
const env = {
  ...process.env,
  HOARD_PASSWORD: PW,
  RESTIC_PASSWORD: PW,
  RESTIC_CACHE_DIR: path.join(DIR, 'restic-cache'),
  PGHOST: '127.0.0.1',
};
const timed = (cmd: string) => measure(cmd, DIR, env);

function psql(sql: string, db = DB): string {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db], {
    input: sql,
    env,
    maxBuffer: 1 << 26,
  })
    .toString()
    .trim();
}

const WORDS = `time person year way day thing man world life hand part child eye woman place work week case point
government company number group problem fact order invoice payment shipping delivery customer account password
reset login logout search cart checkout refund coupon discount review rating product widget gadget gizmo berlin
paris tokyo lima oslo cairo london madrid rome vienna prague warsaw lisbon dublin quick brown lazy happy sad blue
green red yellow purple large small tiny huge fast slow early late new old first last good bad great little`.split(
  /\s+/,
);

/** Server-side generation: rows per table scale with MB (~300 bytes of dump per events row, with orders and users in proportion). */
function generate(): void {
  const units = Math.round(MB * 3300);
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
  const w = `(${words})[1 + floor(random() * ${WORDS.length})::int]`;
  const sentence = (n: number) => `concat_ws(' ', ${Array.from({ length: n }, () => w).join(', ')})`;
  psql(`CREATE DATABASE ${DB}`, 'postgres');
  psql(`
    SELECT setseed(0.4242);
    CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL, country text, created_at timestamptz NOT NULL, profile jsonb);
    INSERT INTO users (name, email, country, created_at, profile)
      SELECT initcap(${w}) || ' ' || initcap(${w}), lower(${w}) || '.' || g || '@' || (ARRAY['example.com','mail.test','corp.example'])[1 + floor(random() * 3)::int],
             (ARRAY['DE','FR','JP','PE','NO','EG','GB','ES','IT','AT'])[1 + floor(random() * 10)::int],
             timestamptz '2020-01-01' + g * interval '7 minutes',
             jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + floor(random() * 3)::int], 'newsletter', random() < 0.3, 'bio', ${sentence(8)})
      FROM generate_series(1, ${Math.round(units / 10)}) g;
    CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, currency char(3) NOT NULL,
      created_at timestamptz NOT NULL, items jsonb NOT NULL, shipping jsonb);
    INSERT INTO orders (user_id, status, total, currency, created_at, items, shipping)
      SELECT 1 + floor(random() * ${Math.round(units / 10)})::int, (ARRAY['pending','paid','shipped','delivered','refunded'])[1 + floor(random() * 5)::int],
             round((random() * 500)::numeric, 2), (ARRAY['EUR','USD','JPY'])[1 + floor(random() * 3)::int], timestamptz '2021-01-01' + g * interval '2 minutes',
             jsonb_build_array(jsonb_build_object('sku', upper(substr(md5(random()::text), 1, 8)), 'qty', 1 + floor(random() * 4)::int, 'price', round((random() * 100)::numeric, 2), 'name', ${sentence(3)})),
             jsonb_build_object('street', initcap(${w}) || ' ' || (1 + floor(random() * 200)::int), 'city', initcap(${w}), 'zip', lpad(floor(random() * 99999)::int::text, 5, '0'))
      FROM generate_series(1, ${Math.round(units / 2)}) g;
    CREATE TABLE events (id bigserial PRIMARY KEY, user_id bigint, type text NOT NULL, payload jsonb, message text, ip inet, created_at timestamptz NOT NULL);
    INSERT INTO events (user_id, type, payload, message, ip, created_at)
      SELECT 1 + floor(random() * ${Math.round(units / 10)})::int, (ARRAY['login','logout','search','view','cart','checkout','error'])[1 + floor(random() * 7)::int],
             jsonb_build_object('path', '/' || ${w} || '/' || ${w}, 'ms', floor(random() * 900)::int, 'session', substr(md5(random()::text), 1, 16)),
             ${sentence(12)}, ('10.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int)::inet,
             timestamptz '2022-01-01' + g * interval '1 minute'
      FROM generate_series(1, ${units}) g;
    ANALYZE;`);
}

/** ~1% of rows changed as applications do: new orders and events appended, the most recent orders updated. */
function clusteredChange(): void {
  psql(`SELECT setseed(0.5);
    INSERT INTO orders (user_id, status, total, currency, created_at, items, shipping)
      SELECT user_id, 'pending', total, currency, created_at + interval '400 days', items, shipping FROM orders ORDER BY id DESC LIMIT (SELECT count(*) / 200 FROM orders);
    UPDATE orders SET status = 'shipped' WHERE id > (SELECT max(id) - count(*) / 200 FROM orders);
    INSERT INTO events (user_id, type, payload, message, ip, created_at)
      SELECT user_id, type, payload, message || ' again', ip, created_at + interval '800 days' FROM events ORDER BY id DESC LIMIT (SELECT count(*) / 100 FROM events);`);
}

/** 1% of the orders' rows updated at random (scattered across the table, as a batch job might). */
function randomChange(): void {
  psql(`SELECT setseed(0.6); UPDATE orders SET status = 'refunded', total = total + 1 WHERE random() < 0.01;`);
}

interface Row {
  label: string;
  m: Measure;
  storedMB: number;
}

function main(): void {
  requireTools([
    ['/usr/bin/time', 'time'],
    ['restic', 'restic'],
    ['zstd', 'zstd'],
    ['gzip', 'gzip'],
    ['pg_dump', 'postgresql-client'],
    ['psql', 'postgresql-client'],
  ]);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  try {
    console.error(`generating an application-like database of ~${MB} MB of dump (${DB}) ...`);
    generate();
    const dumpMB =
      Number(execFileSync('bash', ['-o', 'pipefail', '-c', `pg_dump ${DB} | wc -c`], { env }).toString()) / 1e6;
    const rows: Row[] = [];
    const add = (label: string, cmd: string, stored: () => number) => {
      const m = timed(cmd);
      rows.push({ label, m, storedMB: stored() });
      console.error(`${label}: ${m.secs}s`);
    };
    add('pg_dump > /dev/null (floor)', `pg_dump ${DB} > /dev/null`, () => 0);
    add('pg_dump | gzip', `pg_dump ${DB} | gzip > dump.sql.gz`, () => du(path.join(DIR, 'dump.sql.gz')));
    add('pg_dump | zstd -3', `pg_dump ${DB} | zstd -3 -q > dump.sql.zst`, () => du(path.join(DIR, 'dump.sql.zst')));
    const ratio = dumpMB / rows[2].storedMB;
    if (ratio < 2 || ratio > 6)
      throw new Error(`the data compresses ${ratio.toFixed(1)}× with zstd -3; it must be 2–6× to be realistic`);
    execFileSync('restic', ['init', '-q', '-r', 'restic-repo'], { cwd: DIR, env });
    execFileSync('node', [CLI, 'init', '-r', 'hoard-repo'], { cwd: DIR, env, stdio: 'ignore' });
    const restic = `pg_dump ${DB} | restic backup -q -r restic-repo --stdin --stdin-filename ${DB}.sql`;
    const hoard = `node ${CLI} backup -r hoard-repo --db ${URL}`;
    const repoMB = (name: string) => () => du(path.join(DIR, name));
    add('pg_dump | restic backup --stdin', restic, repoMB('restic-repo'));
    add('hoard backup --db', hoard, repoMB('hoard-repo'));
    const first = { restic: rows[3].storedMB, hoard: rows[4].storedMB };

    const second: { label: string; tool: string; m: Measure; addedMB: number; share: number }[] = [];
    const again = (label: string) => {
      for (const [tool, cmd] of [
        ['hoard', hoard],
        ['restic', restic],
      ] as const) {
        const before = du(path.join(DIR, `${tool}-repo`));
        const m = timed(cmd);
        const addedMB = du(path.join(DIR, `${tool}-repo`)) - before;
        second.push({ label, tool, m, addedMB, share: addedMB / first[tool] });
        console.error(`${label} ${tool}: ${m.secs}s, +${addedMB.toFixed(1)} MB`);
      }
    };
    clusteredChange();
    again('~1% of rows, clustered (appends + recent updates)');
    randomChange();
    again('1% of orders rows updated at random');

    const floor = rows[0].m.secs;
    const f = (n: number, d = 2) => n.toFixed(d);
    console.log(
      [
        `PostgreSQL ${psql('SHOW server_version', 'postgres')}, plain dump ${f(dumpMB, 0)} MB (zstd -3 ratio ${f(ratio, 1)}×), ${os.cpus().length} cores shared with the server, restic ${execFileSync('restic', ['version']).toString().split(' ')[1]}`,
        '',
        '| case | seconds | × floor | peak RSS MB | stored MB |',
        '| --- | --- | --- | --- | --- |',
        ...rows.map(
          (r) =>
            `| ${r.label} | ${f(r.m.secs)} | ${f(r.m.secs / floor)} | ${r.m.rssMB.toFixed(0)} | ${r.storedMB ? f(r.storedMB, 1) : ''} |`,
        ),
        '',
        `hoard / restic: time ${f(rows[4].m.secs / rows[3].m.secs)}, stored ${f(first.hoard / first.restic)}`,
        '',
        '| second backup | tool | seconds | peak RSS MB | added MB | % of first backup |',
        '| --- | --- | --- | --- | --- | --- |',
        ...second.map(
          (s) =>
            `| ${s.label} | ${s.tool} | ${f(s.m.secs)} | ${s.m.rssMB.toFixed(0)} | ${f(s.addedMB, 1)} | ${f(100 * s.share, 1)} |`,
        ),
      ].join('\n'),
    );
  } finally {
    if (process.env.BENCH_KEEP === '1') console.error(`kept database ${DB} and ${DIR}`);
    else
      try {
        psql(`DROP DATABASE IF EXISTS ${DB}`, 'postgres');
      } catch {
        /* reported above */
      }
    if (process.env.BENCH_KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
  }
}

main();
