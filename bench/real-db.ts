/**
 * PostgreSQL backups of a database built from real data nobody here wrote: the text files of the
 * Linux kernel tree of Debian's linux-source-6.1 package as rows (path, size, body), Debian's
 * package lists (one row per package, with its description), and an events table of the same
 * shape as an application's log. hoard `backup --db`, `pg_dump | restic backup --stdin` and
 * `pg_dump | borg create -` alternate (the order turns each round); `pg_dump > /dev/null` is the
 * floor. Then second backups after ~1% of rows changed clustered (new events and files appended,
 * the latest events updated) and 1% changed scattered (random files' bodies edited).
 *
 * BENCH_FORM=short (default): a few folders of the tree, one round. BENCH_FORM=full: the whole tree
 * (over 1 GB of plain dump), BENCH_ROUNDS rounds (default 3). BENCH_TOOLS, BENCH_DIR, BENCH_OUT as
 * in real.ts. Needs linux-source-6.1, the PostgreSQL server on 127.0.0.1 (trust auth), pg_dump,
 * psql, restic, borg and GNU time. Creates and drops its own database.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measure, du, requireTools, timed } from './measure.js';

const FULL = process.env.BENCH_FORM === 'full';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (FULL ? 3 : 1));
const TOOLS = (process.env.BENCH_TOOLS ?? 'hoard,restic,borg').split(',');
const DIR =
  process.env.BENCH_DIR ??
  (existsSync('/dev/shm') ? '/dev/shm/hoard-real-db' : path.join(os.tmpdir(), 'hoard-real-db'));
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const DB = `hoard_bench_real_${process.pid}`;
const URL = `postgres://127.0.0.1:5432/${DB}`;
const PW = 'bench-password';
const env = {
  ...process.env,
  HOARD_PASSWORD: PW,
  RESTIC_PASSWORD: PW,
  BORG_PASSPHRASE: PW,
  PGHOST: '127.0.0.1',
  RESTIC_CACHE_DIR: path.join(DIR, 'restic-cache'),
  BORG_BASE_DIR: path.join(DIR, 'borg-base'),
  BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
};
const sh = (cmd: string): string =>
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: DIR, env, maxBuffer: 1 << 28 }).toString();
const psql = (sql: string, db = DB): string =>
  execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db], { input: sql, env })
    .toString()
    .trim();

/** One CSV field: quoted, quotes doubled. */
const csv = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;

/** Streams CSV lines into `COPY table FROM STDIN` through psql. */
async function copyInto(table: string, lines: Iterable<string>): Promise<void> {
  const child = spawn(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', `\\copy ${table} FROM STDIN WITH (FORMAT csv)`],
    { env, stdio: ['pipe', 'inherit', 'inherit'] },
  );
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`psql \\copy ${table} exited ${c}`)))),
  );
  for (const l of lines) if (!child.stdin.write(`${l}\n`)) await new Promise((r) => child.stdin.once('drain', r));
  child.stdin.end();
  await done;
}

/** The kernel tree's text files (valid UTF-8 without NUL), as [path, body]. */
function* kernelTexts(root: string): Generator<[string, string]> {
  const walk = function* (d: string): Generator<string> {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) yield* walk(p);
      else if (e.isFile()) yield p;
    }
  };
  const dec = new TextDecoder('utf-8', { fatal: true });
  for (const p of walk(root)) {
    const b = readFileSync(p);
    if (b.includes(0)) continue;
    try {
      yield [path.relative(root, p), dec.decode(b)];
    } catch {
      /* not text */
    }
  }
}

/** Debian's package lists on this machine (apt's Packages files), one object per stanza. */
function* packages(): Generator<Record<string, string>> {
  const lists = readdirSync('/var/lib/apt/lists').filter((f) => /_Packages(\.lz4)?$/.test(f));
  for (const f of lists) {
    const text = execFileSync('/usr/lib/apt/apt-helper', ['cat-file', path.join('/var/lib/apt/lists', f)], {
      maxBuffer: 1 << 30,
    }).toString();
    for (const stanza of text.split('\n\n')) {
      const o: Record<string, string> = {};
      let key = '';
      for (const line of stanza.split('\n')) {
        if (/^\s/.test(line) && key) o[key] += `\n${line.trim()}`;
        else {
          const i = line.indexOf(':');
          if (i > 0) {
            key = line.slice(0, i);
            o[key] = line.slice(i + 1).trim();
          }
        }
      }
      if (o.Package) yield o;
    }
  }
}

async function build(tree: string): Promise<void> {
  psql(`CREATE DATABASE ${DB}`, 'postgres');
  psql(`CREATE TABLE source_files (id serial PRIMARY KEY, path text NOT NULL, size int NOT NULL, body text NOT NULL, changed_at timestamptz NOT NULL DEFAULT '2024-01-01');
    CREATE TABLE packages (id serial PRIMARY KEY, name text NOT NULL, version text, section text, maintainer text, depends text, description text, installed_size int);
    CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, file_id int, message text, at timestamptz NOT NULL);`);
  await copyInto(
    'source_files (path, size, body)',
    (function* () {
      for (const [p, b] of kernelTexts(tree)) yield [csv(p), Buffer.byteLength(b), csv(b)].join(',');
    })(),
  );
  await copyInto(
    'packages (name, version, section, maintainer, depends, description, installed_size)',
    (function* () {
      for (const o of packages())
        yield [
          o.Package,
          o.Version ?? '',
          o.Section ?? '',
          o.Maintainer ?? '',
          o.Depends ?? '',
          o.Description ?? '',
          o['Installed-Size'] ?? '0',
        ]
          .map((v, i) => (i === 6 ? Number(v) || 0 : csv(v)))
          .join(',');
    })(),
  );
  // an application's log over the files: one event a minute, its message a line of the file it names
  psql(`SELECT setseed(0.21);
    INSERT INTO events (kind, file_id, message, at)
      SELECT (ARRAY['open','edit','build','review','merge'])[1 + floor(random() * 5)::int], f.id,
             split_part(f.body, E'\\n', 1 + floor(random() * 40)::int), timestamptz '2023-01-01' + g * interval '1 minute'
      FROM generate_series(1, (SELECT count(*) * 4 FROM source_files)) g
      JOIN source_files f ON f.id = 1 + (g * 7919) % (SELECT count(*) FROM source_files);
    ANALYZE;`);
}

/** ~1% clustered: new events and files appended, the latest events updated, as an application changes its data. */
function clusteredChange(): void {
  psql(`SELECT setseed(0.5);
    INSERT INTO events (kind, file_id, message, at) SELECT kind, file_id, message || ' (again)', at + interval '900 days' FROM events ORDER BY id DESC LIMIT (SELECT count(*) / 200 FROM events);
    UPDATE events SET kind = 'merge' WHERE id > (SELECT max(id) - count(*) / 200 FROM events);
    INSERT INTO source_files (path, size, body, changed_at) SELECT path || '.orig', size, body, now() FROM source_files ORDER BY id DESC LIMIT (SELECT count(*) / 200 FROM source_files);`);
}

/** 1% scattered: random files' bodies edited (a line added at the top). */
function scatteredChange(): void {
  psql(
    `SELECT setseed(0.6); UPDATE source_files SET body = '/* reviewed */' || E'\\n' || body, changed_at = now() WHERE random() < 0.01;`,
  );
}

const COMMANDS: Record<string, { init: (r: string) => string; backup: (r: string, n: string) => string }> = {
  hoard: {
    init: (r) => `node ${CLI} init -r ${r} >/dev/null`,
    backup: (r) => `node ${CLI} backup -r ${r} --db ${URL} >/dev/null`,
  },
  restic: {
    init: (r) => `restic init -q -r ${r}`,
    backup: (r) => `pg_dump ${DB} | restic backup -q -r ${r} --stdin --stdin-filename ${DB}.sql`,
  },
  borg: {
    init: (r) => `borg init -e repokey-blake2 ${r} >/dev/null 2>&1`,
    backup: (r, n) => `pg_dump ${DB} | borg create --compression zstd,3 ${r}::${n} -`,
  },
};

interface Sample {
  m: Measure;
  storedMB: number;
}
const results = new Map<string, Map<string, Sample[]>>();

function each(label: string, order: string[], name: string): void {
  for (const tool of order) {
    const repo = `repo-${tool}`;
    const m = timed(COMMANDS[tool].backup(repo, name), DIR, env);
    const byTool = results.get(label) ?? new Map<string, Sample[]>();
    results.set(label, byTool.set(tool, [...(byTool.get(tool) ?? []), { m, storedMB: du(path.join(DIR, repo)) }]));
    console.error(`  ${label}, ${tool}: ${m.secs.toFixed(2)} s, ${m.cpu.toFixed(1)} CPU-s, ${m.rssMB.toFixed(0)} MB`);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f2 = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  requireTools([
    ['/usr/bin/time', 'time'],
    ['pg_dump', 'postgresql-client'],
    ['psql', 'postgresql-client'],
    ...TOOLS.filter((t) => t !== 'hoard').map((t): [string, string] => [t, t === 'borg' ? 'borgbackup' : t]),
  ]);
  if (!existsSync('/usr/src/linux-source-6.1.tar.xz')) {
    console.error('bench: install linux-source-6.1 (apt-get install -y linux-source-6.1)');
    process.exit(2);
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  try {
    const parts = FULL
      ? []
      : ['fs', 'kernel', 'include', 'Documentation/admin-guide'].map((p) => `linux-source-6.1/${p}`);
    execFileSync('tar', ['-xJf', '/usr/src/linux-source-6.1.tar.xz', '-C', DIR, ...parts]);
    console.error(`building ${DB} from the 6.1 tree and the package lists ...`);
    await build(path.join(DIR, 'linux-source-6.1'));
    rmSync(path.join(DIR, 'linux-source-6.1'), { recursive: true, force: true });
    const dumpMB = Number(sh(`pg_dump ${DB} | wc -c`)) / 1e6;
    console.error(`plain dump: ${dumpMB.toFixed(0)} MB`);
    for (let n = 0; n < ROUNDS; n++) {
      // each round from the same data: the changes are made on a copy of the database
      const order = TOOLS.map((_, i) => TOOLS[(i + n) % TOOLS.length]);
      console.error(`round ${n + 1} of ${ROUNDS}: ${order.join(', ')}`);
      for (const t of TOOLS) {
        rmSync(path.join(DIR, `repo-${t}`), { recursive: true, force: true });
        sh(COMMANDS[t].init(`repo-${t}`));
      }
      if (n > 0) {
        psql(`DROP DATABASE ${DB}`, 'postgres');
        psql(`CREATE DATABASE ${DB} TEMPLATE ${DB}_base`, 'postgres');
      } else psql(`CREATE DATABASE ${DB}_base TEMPLATE ${DB}`, 'postgres');
      const floor = timed(`pg_dump ${DB} > /dev/null`, DIR, env);
      results.set(
        'pg_dump > /dev/null (floor)',
        (results.get('pg_dump > /dev/null (floor)') ?? new Map()).set('pg_dump', [
          ...(results.get('pg_dump > /dev/null (floor)')?.get('pg_dump') ?? []),
          { m: floor, storedMB: 0 },
        ]),
      );
      each('first backup --db', order, 'first');
      clusteredChange();
      each('after ~1% clustered changes', order, 'clustered');
      scatteredChange();
      each('after 1% scattered changes', order, 'scattered');
    }
    const floor = median(
      results
        .get('pg_dump > /dev/null (floor)')!
        .get('pg_dump')!
        .map((s) => s.m.secs),
    );
    const others = TOOLS.filter((t) => t !== 'hoard');
    const cell = (s?: Sample[]) =>
      s
        ? `${f2(median(s.map((x) => x.m.secs)))} s (${f2(median(s.map((x) => x.m.secs)) / floor)}× floor), ${median(s.map((x) => x.m.cpu)).toFixed(1)} CPU-s, ${Math.max(...s.map((x) => x.m.rssMB)).toFixed(0)} MB, ${median(s.map((x) => x.storedMB)).toFixed(0)} MB stored`
        : '';
    const spread = (h: Sample[], o?: Sample[]) => {
      if (!o) return '';
      const r = h.map((s, i) => s.m.secs / o[i].m.secs);
      const lo = Math.min(...r),
        hi = Math.max(...r);
      return lo === hi ? f2(lo) : `${f2(lo)}–${f2(hi)}`;
    };
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.dirname(CLI) })
          .toString()
          .trim();
      } catch {
        return 'unknown';
      }
    })();
    console.log(
      `hoard ${commit}; PostgreSQL ${psql('SHOW server_version', 'postgres')}, plain dump ${dumpMB.toFixed(0)} MB; pg_dump > /dev/null ${f2(floor)} s; ${FULL ? 'full' : 'short'} form, ${ROUNDS} round(s), ${os.cpus().length} cores shared with the server\n`,
    );
    console.log(`| case | ${TOOLS.join(' | ')} | ${others.map((o) => `hoard/${o}`).join(' | ')} |`);
    console.log(`| --- | ${TOOLS.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} |`);
    for (const [label, by] of results) {
      if (by.has('pg_dump')) continue;
      console.log(
        `| ${label} | ${TOOLS.map((t) => cell(by.get(t))).join(' | ')} | ${others.map((o) => spread(by.get('hoard') ?? [], by.get(o))).join(' | ')} |`,
      );
    }
  } finally {
    for (const d of [DB, `${DB}_base`])
      try {
        psql(`DROP DATABASE IF EXISTS ${d}`, 'postgres');
      } catch {
        /* reported above */
      }
    if (process.env.BENCH_KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
  }
}

await main();
