/**
 * Which PostgreSQL client tools to use. pg_dump refuses a server newer than itself, so hoard picks
 * the newest tool folder (PATH, then /usr/lib/postgresql/N/bin) whose major version is at least the
 * server's, and uses psql, pg_restore and pg_dumpall from that same folder.
 * HOARD_PG_BINDIR limits the search to one folder.
 */
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { HoardError } from '../../core/index.js';
import { captureTool, toolEnv } from '../process.js';

export interface PgTools {
  dir: string;
  major: number;
  version: string;
  bin(name: 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall' | 'pg_basebackup'): string;
}

export interface ToolCandidate {
  dir: string;
  major: number;
  version: string;
}

/** Pure choice: the newest candidate with major >= the server's, or null. */
export function chooseTools(candidates: ToolCandidate[], serverMajor: number): ToolCandidate | null {
  const ok = candidates.filter((c) => c.major >= serverMajor).sort((a, b) => b.major - a.major);
  return ok[0] ?? null;
}

/**
 * Folders that may hold pg_dump, in search order, without duplicates: the versioned folders first
 * (Debian's /usr/bin/pg_dump is a Perl wrapper that execs one of them, and costs a Perl start per
 * call), then PATH. Folders reaching the same binary count once.
 */
export function candidateDirs(env: NodeJS.ProcessEnv): string[] {
  if (env.HOARD_PG_BINDIR) return [env.HOARD_PG_BINDIR];
  const dirs: string[] = [];
  try {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)))
      dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    /* no versioned installs */
  }
  dirs.push(...(env.PATH ?? '').split(':').filter(Boolean));
  const seen = new Set<string>();
  return dirs.filter((d) => {
    let real: string;
    try {
      real = realpathSync(path.join(d, 'pg_dump'));
    } catch {
      return false;
    }
    if (seen.has(real)) return false;
    seen.add(real);
    // Debian's wrapper only picks one of the versioned binaries already listed
    return !(real.endsWith('/pg_wrapper') && dirs[0]?.startsWith('/usr/lib/postgresql/'));
  });
}

/** Parses "pg_dump (PostgreSQL) 15.20 (Debian ...)" → 15. */
export function toolMajor(versionLine: string): number {
  return toolVersion(versionLine)[0];
}

/** Parses "psql (PostgreSQL) 15.20 (Debian ...)" → [15, 20]; "17devel" → [17, 0]; unknown → [0, 0]. */
export function toolVersion(versionLine: string): [number, number] {
  const m = /\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine) ?? /(\d+)\.(\d+)/.exec(versionLine);
  return m ? [Number(m[1]), Number(m[2] ?? 0)] : [0, 0];
}

/** The first minor release of each major that has psql's restricted mode (\restrict); 18 and later have it. */
const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

/** True when a psql of this `--version` line has \restrict (13.22, 14.19, 15.14, 16.10, 17.6, 18+). */
export function hasRestrictMode(versionLine: string): boolean {
  const [major, minor] = toolVersion(versionLine);
  return major >= 18 || (RESTRICT_SINCE[major] !== undefined && minor >= RESTRICT_SINCE[major]);
}

const cache = new Map<string, ToolCandidate[]>();

async function candidates(env: NodeJS.ProcessEnv): Promise<ToolCandidate[]> {
  const key = candidateDirs(env).join(':');
  const hit = cache.get(key);
  if (hit) return hit;
  const out: ToolCandidate[] = [];
  for (const dir of candidateDirs(env)) {
    try {
      const version = (await captureTool([path.join(dir, 'pg_dump'), '--version'], { env: toolEnv() })).trim();
      out.push({ dir, major: toolMajor(version), version });
    } catch {
      /* unusable binary: skip */
    }
  }
  cache.set(key, out);
  return out;
}

/** The tools for a server of `serverMajor`; kind "tool" (exit 4) when none is new enough. */
export async function pgTools(serverMajor: number, env: NodeJS.ProcessEnv): Promise<PgTools> {
  const all = await candidates(env);
  const pick = chooseTools(all, serverMajor);
  if (!pick) {
    const found = all.length ? `found ${all.map((c) => `${c.major} (${c.dir})`).join(', ')}` : 'found none';
    throw new HoardError(
      'tool',
      `the server runs PostgreSQL ${serverMajor} but no pg_dump of version ${serverMajor} or newer is installed (${found})`,
      {
        hint: `install postgresql-client-${serverMajor} (or newer), e.g. from apt.postgresql.org`,
        context: { server_major: serverMajor },
      },
    );
  }
  return { ...pick, bin: (name) => path.join(pick.dir, name) };
}

const restrictChecks = new Map<string, Promise<void>>();

/**
 * Resolves when the psql at `psql` can be put in restricted mode, so that a restore runs only the
 * dump's SQL; kind "tool" (exit 4) when it is too old. Asks `psql --version` once per path.
 */
export function requireRestrictMode(psql: string): Promise<void> {
  let check = restrictChecks.get(psql);
  if (!check) {
    check = captureTool([psql, '--version'], { env: toolEnv() }).then((out) => {
      const line = out.trim();
      if (hasRestrictMode(line)) return;
      const [major, minor] = toolVersion(line);
      throw new HoardError(
        'tool',
        `${psql} is psql ${major ? `${major}.${minor}` : '(version unknown)'}, too old to restore a dump safely: it has no restricted mode (\\restrict), so a dump could run commands on this host`,
        {
          hint:
            'install a newer postgresql-client (13.22, 14.19, 15.14, 16.10, 17.6 or later), e.g. ' +
            'from apt.postgresql.org',
        },
      );
    });
    check.catch(() => restrictChecks.delete(psql)); // a missing binary may be installed later
    restrictChecks.set(psql, check);
  }
  return check;
}

/** psql from any candidate folder (for the first query, before the server's version is known). */
export async function anyPsql(env: NodeJS.ProcessEnv): Promise<string> {
  for (const dir of candidateDirs(env)) if (existsSync(path.join(dir, 'psql'))) return path.join(dir, 'psql');
  throw new HoardError('tool', 'psql is not installed', {
    hint: 'install the PostgreSQL client: apt-get install postgresql-client',
  });
}
