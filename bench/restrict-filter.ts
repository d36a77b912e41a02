/**
 * Throughput of the line scans a restore adds: psql's restricted-mode filter (PostgreSQL plain and
 * custom restores) and the command-line noting of MySQL restores, over BENCH_FILTER_MB (default
 * 300) MB of pg_dump-like text held in memory, in 64 KiB chunks as a repository read yields them.
 * The floor is a loop that only touches each chunk. One line per case: MB/s (10^6 bytes), best of 3.
 */
import { performance } from 'node:perf_hooks';
import { LineNotes, noting } from '../src/databases/line-notes.js';
import { commandLine } from '../src/databases/mysql/sandbox.js';
import { RestrictLineFilter } from '../src/databases/postgres/restrict-filter.js';

const MB = Number(process.env.BENCH_FILTER_MB ?? 300);
const CHUNK = 64 << 10;

/** A plain dump: DDL, then COPY blocks of rows like an application's (ids, names, timestamps, escapes). */
function dumpLike(bytes: number): Buffer {
  const parts: string[] = [
    '--\n-- PostgreSQL database dump\n--\n\n\\restrict ' +
      '0ZnbNb4UKlisHfrC5pxylsgbIXpZ2ehYT7NInEhkIpPBunOMdly4IcaoxNgLASh\n\n',
  ];
  let size = parts[0].length;
  for (let table = 0; size < bytes; table++) {
    const head = `CREATE TABLE public.t${table} (id bigint NOT NULL, name text, note text, at timestamptz);\nCOPY public.t${table} (id, name, note, at) FROM stdin;\n`;
    const rows: string[] = [head];
    for (let i = 0; i < 20000; i++)
      rows.push(
        `${i}\tcustomer ${(i * 7919) % 100003}\tline one\\nline two \\\\ tab\\t${'x'.repeat(i % 40)}\t2024-03-${1 + (i % 28)} 12:00:00+00\n`,
      );
    rows.push('\\.\n\n');
    const text = rows.join('');
    parts.push(text);
    size += text.length;
  }
  parts.push('\\unrestrict 0ZnbNb4UKlisHfrC5pxylsgbIXpZ2ehYT7NInEhkIpPBunOMdly4IcaoxNgLASh\n');
  return Buffer.from(parts.join(''));
}

function* chunks(b: Buffer): Generator<Buffer> {
  for (let o = 0; o < b.length; o += CHUNK) yield b.subarray(o, o + CHUNK);
}

async function best(name: string, b: Buffer, fn: () => Promise<number> | number): Promise<void> {
  let secs = Infinity;
  let check = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    check = await fn();
    secs = Math.min(secs, (performance.now() - t) / 1000);
  }
  console.log(
    `${name.padEnd(44)} ${(b.length / 1e6 / secs).toFixed(0).padStart(6)} MB/s  (${(b.length / 1e6).toFixed(0)} MB in ${secs.toFixed(3)} s; ${check} bytes out)`,
  );
}

async function main(): Promise<void> {
  const dump = dumpLike(MB * 1e6);
  await best('floor: touch each chunk', dump, () => {
    let n = 0;
    for (const c of chunks(dump)) n += c[0] === 0 ? 0 : c.length;
    return n;
  });
  await best('psql restricted-mode filter', dump, () => {
    const f = new RestrictLineFilter();
    let n = 0;
    for (const c of chunks(dump)) for (const out of f.push(c)) n += out.length;
    for (const out of f.end()) n += out.length;
    return n;
  });
  await best('MySQL command-line noting (async generator)', dump, async () => {
    let n = 0;
    async function* source() {
      yield* chunks(dump);
    }
    for await (const c of noting(source(), new LineNotes(), commandLine)) n += c.length;
    return n;
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
