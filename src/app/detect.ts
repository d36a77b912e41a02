/**
 * What `hoard init` finds in a project: SQLite files (by their 16-byte header), database URLs in
 * the environment and in .env files, a Prisma schema's datasource, and postgres/mysql/mariadb
 * services in docker-compose files. Reads only; never connects to anything. Passwords found are
 * never copied: sources refer to the variable that holds the URL.
 */
import { open, readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDotenv } from '../config/index.js';

export interface Candidate {
  /** A proposed source name (unique among the candidates). */
  name: string;
  type: 'sqlite' | 'postgres' | 'mysql';
  /** For sqlite: the path relative to the project. */
  path?: string;
  /** For postgres/mysql: the reference to write, e.g. env:DATABASE_URL. */
  url?: string;
  /** Where it was found, for the user: ".env: DATABASE_URL", "docker-compose.yml: service db". */
  found: string;
  /** Set when the URL's variable is not set yet (e.g. from docker-compose): what to do. */
  todo?: string;
}

const SKIP = new Set([
  'node_modules',
  '.git',
  '.hoard',
  'dist',
  'build',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
  'target',
  '.next',
  'coverage',
]);
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const URL_RE = /^(postgres|postgresql|mysql|mariadb):\/\//i;
const ENV_FILES = ['.env', '.env.local', '.env.development', '.env.production'];
const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml'];

async function isSqlite(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const b = Buffer.alloc(16);
    const { bytesRead } = await fh.read(b, 0, 16, 0);
    return bytesRead === 16 && b.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

/** SQLite files under `dir` (3 levels deep), relative paths, sorted. */
export async function findSqliteFiles(dir: string, depth = 3, base = dir): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && depth > 0 && !SKIP.has(e.name)) out.push(...(await findSqliteFiles(p, depth - 1, base)));
    else if (e.isFile() && !/-(wal|shm|journal)$/.test(e.name) && (await isSqlite(p))) out.push(path.relative(base, p));
  }
  return out.sort();
}

const engineOf = (url: string): 'postgres' | 'mysql' => (/^postgres/i.test(url) ? 'postgres' : 'mysql');

function dbName(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1)) || undefined;
  } catch {
    return undefined;
  }
}

/** Everything found in `dir`, given the process environment. */
export async function detectSources(dir: string, vars: Record<string, string | undefined>): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const urls = new Map<string, string>(); // variable → where first seen
  for (const [k, v] of Object.entries(vars)) if (v && URL_RE.test(v)) urls.set(k, `environment: ${k}`);
  const values = new Map<string, string>(
    Object.entries(vars).filter(([, v]) => v && URL_RE.test(v)) as [string, string][],
  );
  for (const f of ENV_FILES) {
    const env = parseDotenv(await readFile(path.join(dir, f), 'utf8').catch(() => ''));
    for (const [k, v] of Object.entries(env)) {
      if (!URL_RE.test(v) || urls.has(k)) continue;
      urls.set(k, `${f}: ${k}`);
      values.set(k, v);
    }
  }
  for (const [k, where] of urls) {
    const v = values.get(k)!;
    out.push({ name: dbName(v) ?? k.toLowerCase(), type: engineOf(v), url: `env:${k}`, found: where });
  }
  out.push(...(await fromPrisma(dir, urls)));
  out.push(...(await fromCompose(dir)));
  for (const f of await findSqliteFiles(dir)) {
    if (!out.some((c) => c.path === f))
      out.push({
        name: path.basename(f).replace(/\.(sqlite3?|db)$/i, ''),
        type: 'sqlite',
        path: f,
        found: `SQLite file ${f}`,
      });
  }
  return uniqueNames(out);
}

async function fromPrisma(dir: string, urls: Map<string, string>): Promise<Candidate[]> {
  for (const rel of ['prisma/schema.prisma', 'schema.prisma']) {
    const text = await readFile(path.join(dir, rel), 'utf8').catch(() => undefined);
    if (!text) continue;
    const ds = /datasource\s+\w+\s*\{([^}]*)\}/m.exec(text)?.[1] ?? '';
    const provider = /provider\s*=\s*"(\w+)"/.exec(ds)?.[1];
    const envVar = /url\s*=\s*env\(\s*"(\w+)"\s*\)/.exec(ds)?.[1];
    const literal = /url\s*=\s*"([^"]+)"/.exec(ds)?.[1];
    if (provider === 'sqlite' && literal?.startsWith('file:')) {
      const p = path.relative(dir, path.resolve(dir, path.dirname(rel), literal.slice(5)));
      return [
        {
          name: path.basename(p).replace(/\.(sqlite3?|db)$/i, ''),
          type: 'sqlite',
          path: p,
          found: `${rel}: datasource (sqlite)`,
        },
      ];
    }
    const type =
      provider === 'postgresql' || provider === 'postgres' ? 'postgres' : provider === 'mysql' ? 'mysql' : undefined;
    if (type && envVar && !urls.has(envVar)) {
      return [
        {
          name: envVar.toLowerCase().replace(/_url$/, '').replace(/_/g, '-'),
          type,
          url: `env:${envVar}`,
          found: `${rel}: datasource (${provider})`,
          todo: `set ${envVar} (Prisma reads it too)`,
        },
      ];
    }
  }
  return [];
}

type ComposeService = {
  image?: string;
  environment?: Record<string, string> | string[];
  ports?: (string | number | { published?: number | string; target?: number })[];
};

function composeEnv(e: ComposeService['environment']): Record<string, string> {
  if (!e) return {};
  if (Array.isArray(e))
    return Object.fromEntries(e.map((x) => String(x).split(/=(.*)/s).slice(0, 2) as [string, string]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v ?? '')]));
}

function publishedPort(s: ComposeService, inner: number): number | undefined {
  for (const p of s.ports ?? []) {
    if (typeof p === 'object') {
      if (Number(p.target) === inner && p.published) return Number(p.published);
      continue;
    }
    const m = /^(?:[\d.]+:)?(\d+):(\d+)/.exec(String(p));
    if (m && Number(m[2]) === inner) return Number(m[1]);
  }
  return undefined;
}

async function fromCompose(dir: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const f of COMPOSE_FILES) {
    const text = await readFile(path.join(dir, f), 'utf8').catch(() => undefined);
    if (!text) continue;
    let doc: { services?: Record<string, ComposeService> };
    try {
      doc = parseYaml(text) ?? {};
    } catch {
      continue;
    }
    for (const [svc, s] of Object.entries(doc.services ?? {})) {
      const image = String(s?.image ?? '').toLowerCase();
      const kind =
        /(^|\/)postgres(:|$)/.test(image) || /(^|\/)postgis\//.test(image)
          ? 'postgres'
          : /(^|\/)(mysql|mariadb)(:|$)/.test(image)
            ? 'mysql'
            : undefined;
      if (!kind) continue;
      const env = composeEnv(s.environment);
      const port = publishedPort(s, kind === 'postgres' ? 5432 : 3306) ?? (kind === 'postgres' ? 5432 : 3306);
      const user =
        kind === 'postgres' ? (env.POSTGRES_USER ?? 'postgres') : (env.MYSQL_USER ?? env.MARIADB_USER ?? 'root');
      const db = kind === 'postgres' ? (env.POSTGRES_DB ?? user) : (env.MYSQL_DATABASE ?? env.MARIADB_DATABASE ?? '');
      const variable = `${svc.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`;
      const shown = `${kind === 'postgres' ? 'postgres' : 'mysql'}://${user}:PASSWORD@127.0.0.1:${port}/${db}`;
      out.push({
        name: db || svc,
        type: kind,
        url: `env:${variable}`,
        found: `${f}: service ${svc} (${image})`,
        todo: `set ${variable}=${shown} in .env (the password from ${f})`,
      });
    }
    break;
  }
  return out;
}

/** Source names must be unique and valid in hoard.yaml. */
function uniqueNames(list: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return list.map((c) => {
    let base =
      c.name
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .slice(0, 48) || c.type;
    if (seen.has(base)) base = `${base}-${c.type}`;
    let n = base;
    for (let i = 2; seen.has(n); i++) n = `${base}-${i}`;
    seen.add(n);
    return { ...c, name: n };
  });
}
