/** hoard.yaml's database sources as connections: where a source's snapshot goes back to, what `migrate` guards. */
import * as path from 'node:path';
import type { SnapshotEntry } from '../core/index.js';
import { type Connection, parseDatabaseUrl } from '../databases/index.js';
import { HoardError } from '../core/index.js';
import { entryOf } from '../config/index.js';
import { type Project, projectSecret } from './project.js';
import { toRecord } from './snapshot-view.js';

/**
 * The configured connection of the snapshot's source (its URL secret resolved), or undefined when
 * the snapshot's source is not a database source of this project (then the URL stored in the
 * snapshot, without its password, is used).
 */
export async function configuredTarget(p: Project, s: SnapshotEntry): Promise<Connection | undefined> {
  const r = toRecord(s);
  // the source's name comes from the repository: only this project's own entries count
  const cfg = r.source ? entryOf(p.config.sources, r.source) : undefined;
  if (!cfg || cfg.type === 'files') return undefined;
  const c = await sourceConnection(p, r.source!);
  return c.engine === r.engine ? c : undefined;
}

/** The connection of a configured database source; kind "usage" when it is unknown or holds files. */
export async function sourceConnection(p: Project, name: string): Promise<Connection> {
  const cfg = entryOf(p.config.sources, name);
  if (!cfg || cfg.type === 'files') {
    const dbs = Object.entries(p.config.sources ?? {})
      .filter(([, s]) => s.type !== 'files')
      .map(([n]) => n);
    throw new HoardError('usage', `${name} is not a database source of ${p.loaded?.file ?? 'hoard.yaml'}`, {
      hint: dbs.length ? `database sources: ${dbs.join(', ')}` : 'define one under sources:',
    });
  }
  if (cfg.type === 'sqlite') return { engine: 'sqlite', path: path.resolve(p.dir, cfg.path) };
  return parseDatabaseUrl(await projectSecret(p, cfg.url, ['sources', name, 'url']));
}

/** Every database source of the project, by name. */
export function databaseSources(p: Project): string[] {
  return Object.entries(p.config.sources ?? {})
    .filter(([, s]) => s.type !== 'files')
    .map(([n]) => n);
}
