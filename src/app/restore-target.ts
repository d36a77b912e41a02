/**
 * Where a restore writes, decided before anything is opened, dialled or written. A destination is
 * never taken from the repository: a snapshot's stored URL or path may have been written by
 * whoever holds the repository's key. It is, in order:
 * - a name from hoard.yaml: a `restore_targets` entry (a folder, or a database server or database),
 *   or a source (its own location: a database source's database, a SQLite file, or a files
 *   source's own folders, restoring only below those folders);
 * - for trusted callers only (the CLI, the library), a folder path or database URL given as such;
 * - with neither, a database snapshot goes back to its source as hoard.yaml configures it.
 * `configuredOnly` (the REST API) refuses anything but hoard.yaml's names, with kind "not-allowed".
 * The destination's environment (the target's, not the snapshot's) decides protection.
 */
import { lookup } from 'node:dns/promises';
import * as path from 'node:path';
import { HoardError, type SnapshotEntry } from '../core/index.js';
import { type RestoreTargetConfig, type SourceConfig, entryOf } from '../config/index.js';
import { type Connection, describe, parseDatabaseUrl } from '../databases/index.js';
import { type Project, environmentFor, policyOf, projectSecret } from './project.js';
import { toRecord } from './snapshot-view.js';

export type Destination =
  | {
      kind: 'folder';
      folder: string;
      /**
       * In-place restores of a files source: each configured folder, as the snapshot names it (`tree`,
       * e.g. "/uploads" for a relative path) and where it is on disk; only these are written.
       */
      parts?: { tree: string; disk: string }[];
      /** The files source whose own folders this is, for its safety snapshot. */
      source?: string;
      environment?: string;
      /** The hoard.yaml name chosen (a restore target or source), or null. */
      name: string | null;
      /** Where it is: the folder (an in-place restore: the source's folders). */
      label: string;
    }
  | {
      kind: 'database';
      connection: Connection;
      /** The database is fixed by hoard.yaml: a request may not name another (configuredOnly). */
      fixedDatabase: boolean;
      /** A SQLite file goes into this declared folder (made when missing). */
      intoFolder?: boolean;
      environment?: string;
      /** The hoard.yaml name chosen (a restore target or source), or null. */
      name: string | null;
      /** Where it is, without a password. */
      label: string;
    };

export interface TargetChoice {
  /** A folder path, a database URL or connection (trusted callers), or a restore target's name. */
  target?: string | Connection;
  /** A name from hoard.yaml: a restore target or a source. */
  targetName?: string;
  /** Another database name on the destination's server (PostgreSQL, MySQL). */
  targetDb?: string;
  /** Only hoard.yaml's names (the REST API). */
  configuredOnly?: boolean;
}

const ALLOW_HINT =
  'declare the place under restore_targets: in hoard.yaml (path: for a folder, url: for a database) and use its name';

function notAllowed(message: string, hint = ALLOW_HINT): HoardError {
  return new HoardError('not-allowed', `${message}; nothing was restored`, { hint });
}

/** True when the snapshot holds a database dump (its metadata says so). */
export function isDatabaseSnapshot(s: SnapshotEntry): boolean {
  return !!(s.snapshot.hoard as { database?: { engine?: unknown } } | undefined)?.database?.engine;
}

function engineOf(s: SnapshotEntry): string | null {
  return toRecord(s).engine;
}

/** The destination of a restore of `s`; kind "not-allowed" or "usage" when the choice cannot be used. */
export async function resolveDestination(p: Project, s: SnapshotEntry, c: TargetChoice): Promise<Destination> {
  let d: Destination;
  if (c.targetName !== undefined) d = await named(p, s, c.targetName);
  else if (c.target !== undefined) {
    if (c.configuredOnly)
      throw notAllowed(
        `the target ${typeof c.target === 'string' ? JSON.stringify(c.target) : describe(c.target)} is not a name from hoard.yaml`,
      );
    d =
      typeof c.target === 'string' && entryOf(p.config.restore_targets, c.target)
        ? await named(p, s, c.target)
        : await adHoc(p, s, c.target);
  } else d = await byDefault(p, s, c);
  return withTargetDb(d, c);
}

async function named(p: Project, s: SnapshotEntry, name: string): Promise<Destination> {
  const t = entryOf(p.config.restore_targets, name);
  if (t) return restoreTarget(p, s, name, t);
  const src = entryOf(p.config.sources, name);
  if (src) return sourceLocation(p, s, name, src);
  const names = [...Object.keys(p.config.restore_targets ?? {}), ...Object.keys(p.config.sources ?? {})];
  throw notAllowed(
    `${name} is neither a restore target nor a source of ${p.loaded?.file ?? 'hoard.yaml'}`,
    names.length ? `use one of: ${names.join(', ')}; or ${ALLOW_HINT}` : ALLOW_HINT,
  );
}

async function restoreTarget(p: Project, s: SnapshotEntry, name: string, t: RestoreTargetConfig): Promise<Destination> {
  const environment = t.environment ?? p.settings.environment?.value;
  const engine = engineOf(s);
  if (t.path !== undefined) {
    const folder = path.resolve(p.dir, t.path);
    if (engine && engine !== 'sqlite')
      throw notAllowed(
        `the restore target ${name} is a folder and backup ${s.id.slice(0, 8)} holds a ${engine} database`,
        `restore it into a restore target with url: or into its source`,
      );
    // a SQLite snapshot goes into the folder as a file of its own name (checked there)
    if (engine === 'sqlite')
      return {
        kind: 'database',
        connection: { engine: 'sqlite', path: folder },
        fixedDatabase: true,
        intoFolder: true,
        environment,
        name,
        label: folder,
      };
    return { kind: 'folder', folder, environment, name, label: folder };
  }
  const connection = parseDatabaseUrl(await projectSecret(p, t.url!, ['restore_targets', name, 'url']));
  if (!engine)
    throw notAllowed(
      `the restore target ${name} is a database and backup ${s.id.slice(0, 8)} holds files`,
      'restore files into a restore target with path:',
    );
  if (connection.engine !== engine)
    throw notAllowed(
      `the restore target ${name} is a ${connection.engine} database and backup ${s.id.slice(0, 8)} holds ${engine}`,
    );
  return {
    kind: 'database',
    connection,
    fixedDatabase: connection.engine === 'sqlite' || !!connection.database,
    environment,
    name,
    label: describe(connection),
  };
}

async function sourceLocation(p: Project, s: SnapshotEntry, name: string, cfg: SourceConfig): Promise<Destination> {
  const environment = environmentFor(p, cfg.environment);
  const r = toRecord(s);
  if (r.source !== name)
    throw notAllowed(
      `backup ${r.short_id} is of ${r.source ? `source ${r.source}` : 'no source of this project'}, not of ${name}`,
      `restore a backup of ${name} there, or choose a restore target`,
    );
  if (cfg.type === 'files') {
    if (r.engine) throw notAllowed(`backup ${r.short_id} holds a database, and ${name} is a files source`);
    const parts = cfg.paths.map((x) => sourcePart(p.dir, x));
    return {
      kind: 'folder',
      folder: p.dir,
      parts,
      source: name,
      environment,
      name,
      label: parts.map((x) => x.disk).join(', '),
    };
  }
  const connection: Connection =
    cfg.type === 'sqlite'
      ? { engine: 'sqlite', path: path.resolve(p.dir, cfg.path) }
      : parseDatabaseUrl(await projectSecret(p, cfg.url, ['sources', name, 'url']));
  if (connection.engine !== r.engine)
    throw notAllowed(
      `backup ${r.short_id} holds ${r.engine ?? 'files'} and the source ${name} is ${connection.engine}`,
    );
  return { kind: 'database', connection, fixedDatabase: true, environment, name, label: describe(connection) };
}

/**
 * Where a files source's configured path is in a snapshot and on disk: absolute paths keep their
 * components, relative ones are stored from their first component (as restic does, `../` dropped).
 */
function sourcePart(dir: string, x: string): { tree: string; disk: string } {
  const disk = path.resolve(dir, x);
  const rel = path.isAbsolute(x)
    ? disk.slice(1)
    : path
        .normalize(x)
        .replace(/^(\.\.\/)+/, '')
        .replace(/\/+$/, '');
  return { tree: `/${rel}`, disk };
}

/** A path or URL given by a trusted caller; its environment is that of the configured place it is, if any. */
async function adHoc(p: Project, s: SnapshotEntry, target: string | Connection): Promise<Destination> {
  if (!isDatabaseSnapshot(s)) {
    if (typeof target !== 'string')
      throw new HoardError('usage', `backup ${s.id.slice(0, 8)} holds files; give a folder as the target`);
    return {
      kind: 'folder',
      folder: target,
      environment: folderEnvironment(p, path.resolve(target)),
      name: null,
      label: target,
    };
  }
  const connection = typeof target === 'string' ? parseDatabaseUrl(target) : target;
  return {
    kind: 'database',
    connection,
    fixedDatabase: false,
    environment: await databaseEnvironment(p, connection),
    name: null,
    label: describe(connection),
  };
}

async function byDefault(p: Project, s: SnapshotEntry, c: TargetChoice): Promise<Destination> {
  const r = toRecord(s);
  if (!isDatabaseSnapshot(s)) {
    throw new HoardError(
      'usage',
      `restoring files needs a target${c.configuredOnly ? " (a restore target or the source's name)" : ' folder'}`,
      {
        hint: c.configuredOnly
          ? `send target: NAME (${ALLOW_HINT})`
          : 'e.g. hoard restore latest --target /tmp/restore',
      },
    );
  }
  const cfg = r.source ? entryOf(p.config.sources, r.source) : undefined;
  if (cfg && cfg.type !== 'files') {
    const d = await sourceLocation(p, s, r.source!, cfg);
    if (d.kind === 'database') return c.configuredOnly ? d : { ...d, fixedDatabase: false };
  }
  const stored = (s.snapshot.hoard as { database?: { url?: unknown } }).database?.url;
  throw notAllowed(
    `backup ${r.short_id} is of ${r.source ? `source ${r.source}, which ${p.loaded ? 'hoard.yaml does not configure as a database' : 'no hoard.yaml here configures'}` : 'no configured source'}, and a target is never taken from the repository`,
    c.configuredOnly
      ? ALLOW_HINT
      : `give the target: --target URL or env:VAR${typeof stored === 'string' ? ` (it was backed up from ${stored.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, '?')})` : ''}`,
  );
}

/** "NAME (where)" for a named destination, else where it is. */
export function describeDestination(d: Destination): string {
  return d.name ? `${d.name} (${d.label})` : d.label;
}

/** Databases a restore never replaces: the servers' own. */
const SYSTEM_DATABASES = new Set([
  'postgres',
  'template0',
  'template1',
  'mysql',
  'information_schema',
  'performance_schema',
  'sys',
]);

function withTargetDb(d: Destination, c: TargetChoice): Destination {
  if (c.targetDb === undefined) return d;
  if (SYSTEM_DATABASES.has(c.targetDb.toLowerCase()))
    throw notAllowed(`${c.targetDb} is the server's own database`, 'restore into a database of your application');
  if (d.kind !== 'database' || d.connection.engine === 'sqlite')
    throw new HoardError('usage', 'target_db (--target-db) is for PostgreSQL and MySQL targets', {
      hint: 'leave it out',
    });
  if (d.fixedDatabase && c.targetDb !== d.connection.database)
    throw notAllowed(
      `${describeDestination(d)} names its database; another database (${c.targetDb}) may not be chosen there`,
      'declare the server without a database in restore_targets: to allow target_db',
    );
  return {
    ...d,
    connection: { ...d.connection, database: c.targetDb },
    label: describe({ ...d.connection, database: c.targetDb }),
  };
}

/** A server's host as a comparable key: lower case, loopback names, addresses and sockets all one. */
function hostKey(c: Connection): string {
  const h = (c.options?.host ?? c.host ?? '').toLowerCase().replace(/^\[|\]$/g, '');
  return h === '' || h === 'localhost' || h.startsWith('/') || /^127\./.test(h) || h === '::1' ? 'loopback' : h;
}

const DEFAULT_PORT: Record<string, number> = { postgres: 5432, mysql: 3306 };

/** True when both name the same server (ports defaulted, loopback spellings alike, names resolved). */
async function sameServer(a: Connection, b: Connection): Promise<boolean> {
  if (a.engine !== b.engine || (a.port ?? DEFAULT_PORT[a.engine]) !== (b.port ?? DEFAULT_PORT[b.engine])) return false;
  const [x, y] = [hostKey(a), hostKey(b)];
  if (x === y) return true;
  const addresses = async (h: string) =>
    h === 'loopback'
      ? ['loopback']
      : (await lookup(h, { all: true }).catch(() => [])).map((r) =>
          /^127\.|^::1$/.test(r.address) ? 'loopback' : r.address,
        );
  const [ax, ay] = await Promise.all([addresses(x), addresses(y)]);
  return ax.some((v) => ay.includes(v));
}

async function sameDatabase(a: Connection, b: Connection): Promise<boolean> {
  if (a.engine === 'sqlite' || b.engine === 'sqlite')
    return a.engine === b.engine && path.resolve(a.path ?? '') === path.resolve(b.path ?? '');
  return (a.database ?? '') === (b.database ?? '') && sameServer(a, b);
}

const within = (folder: string, base: string) =>
  folder === base || folder.startsWith(base.endsWith('/') ? base : `${base}/`);

/** The environments of the configured sources and restore targets whose folders hold `folder` or lie inside it. */
function folderEnvironments(p: Project, folder: string): string[] {
  const out: (string | undefined)[] = [];
  for (const [, t] of Object.entries(p.config.restore_targets ?? {})) {
    if (t.path && within(folder, path.resolve(p.dir, t.path))) out.push(t.environment ?? p.settings.environment?.value);
  }
  for (const [, src] of Object.entries(p.config.sources ?? {})) {
    const places = src.type === 'files' ? src.paths : src.type === 'sqlite' ? [src.path] : [];
    if (places.some((x) => within(folder, path.resolve(p.dir, x)) || within(path.resolve(p.dir, x), folder)))
      out.push(environmentFor(p, src.environment));
  }
  return out.filter((e): e is string => !!e);
}

/** The environment a folder given as a path restores in: the strictest place it touches is found by destinationEnvironments. */
function folderEnvironment(p: Project, folder: string): string | undefined {
  return folderEnvironments(p, folder)[0] ?? p.settings.environment?.value;
}

/**
 * The environments of the configured database sources and restore targets that `c` is (their URL
 * secrets resolved; a restore target without a database covers its whole server).
 */
async function databaseEnvironments(p: Project, c: Connection): Promise<string[]> {
  const out: (string | undefined)[] = [];
  for (const [name, src] of Object.entries(p.config.sources ?? {})) {
    if (src.type === 'files') continue;
    const conf =
      src.type === 'sqlite'
        ? { engine: 'sqlite' as const, path: path.resolve(p.dir, src.path) }
        : await urlOf(p, src.url, ['sources', name, 'url']);
    if (conf && (await sameDatabase(conf, c))) out.push(environmentFor(p, src.environment));
  }
  for (const [name, t] of Object.entries(p.config.restore_targets ?? {})) {
    const conf = t.url ? await urlOf(p, t.url, ['restore_targets', name, 'url']) : undefined;
    if (conf && (await sameDatabase({ ...conf, database: conf.database ?? c.database }, c)))
      out.push(t.environment ?? p.settings.environment?.value);
  }
  return out.filter((e): e is string => !!e);
}

async function databaseEnvironment(p: Project, c: Connection): Promise<string | undefined> {
  return (await databaseEnvironments(p, c))[0] ?? p.settings.environment?.value;
}

/** A configured URL secret as a connection, or undefined when it cannot be resolved now. */
function urlOf(p: Project, ref: string, at: (string | number)[]): Promise<Connection | undefined> {
  return projectSecret(p, ref, at).then(parseDatabaseUrl, () => undefined);
}

/**
 * The environments a restore into `d` acts in: the destination's own, and those of every configured
 * source or restore target whose place it is or holds (a restore target's server may hold a
 * production source's database; a dev folder may hold a production source's folder), so that no
 * route to a place escapes that place's protection.
 */
export async function destinationEnvironments(p: Project, d: Destination): Promise<string[]> {
  const places =
    d.kind === 'folder'
      ? (d.parts ?? [{ disk: d.folder }]).flatMap((x) => folderEnvironments(p, path.resolve(x.disk)))
      : await databaseEnvironments(p, d.connection);
  return [...new Set([d.environment, ...places].filter((e): e is string => !!e))];
}

/**
 * The protected environment a restore acts in, if any: one of the destination's environments, or
 * the one set explicitly (--environment / HOARD_ENVIRONMENT) when that is protected; never the snapshot's.
 */
export function protectedDestination(p: Project, environments: string[]): string | undefined {
  const set = p.settings.environment;
  const explicit = set && set.from !== 'file' ? set.value : undefined;
  return [...environments, explicit].find((e): e is string => !!e && policyOf(p, e).protected);
}
